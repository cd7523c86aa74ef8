"""One send quota for the SES account, whatever the number of mailer replicas: three
mailers together never exceed the account's maximum send rate and use at least 90 % of
it; one mailer alone uses at least 90 % too; the rate is the one SES reports, followed
when AWS raises it, and the setting where SES cannot tell."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from nats.aio.client import Client as NatsClient

from realtoros_contracts import Namespace
from realtoros_mailer.app import Mailer
from realtoros_mailer.quota import SendQuota
from realtoros_mailer.settings import MailerSettings
from tests.mailer.helpers import SES_FROM, composed, publish, run_mailer, settings_for
from tests.support.moto_ses import MotoSes
from tests.support.ses_account import SesAccount
from tests.support.waiting import eventually

RATE = 8.0
EMAILS = 100
BURST = int(RATE * 0.5)
"""Sends the shared bucket lets through at once when it is full (half a second's)."""


def quota_settings(nats_url: str, ns: Namespace, ses_url: str, **overrides: Any) -> MailerSettings:
    values: dict[str, Any] = {
        "mail_transport": "ses",
        "ses_endpoint_url": ses_url,
        "ses_from_address": SES_FROM,
        "aws_region": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "mailer_allow_reserved_domains": True,
        "ses_max_send_rate": 1.0,  # only if SES could not be read: it would fail the test
        **overrides,
    }
    return settings_for(nats_url, ns, **values)


def quota_of(mailer: Mailer) -> SendQuota:
    quota = mailer.sender.pacing.limiter
    assert quota is not None
    return quota


async def send_backlog(nats_client: NatsClient, ns: Namespace, ses: SesAccount) -> None:
    """Queue EMAILS emails at once and wait until SES accepted them all."""
    js = nats_client.jetstream()
    before = len(ses.sent_at)
    for _ in range(EMAILS):
        await publish(js, ns, composed())

    async def done() -> bool | None:
        return len(ses.sent_at) - before >= EMAILS or None

    await eventually(done, timeout=EMAILS / RATE * 4 + 60)


def assert_quota_kept_and_used(ses: SesAccount, first: int) -> float:
    """Never above the quota (SES throttled nothing; the steady rate at most the quota)
    and at least 90 % of it used. Returns the steady rate."""
    assert ses.throttled == 0
    # The first BURST sends may leave at once (the full bucket), as SES allows.
    assert ses.max_in_window(1.0) <= RATE * 1.5 + 1, ses.max_in_window(1.0)
    steady = ses.rate_between(first + BURST, len(ses.sent_at) - 1)
    assert 0.9 * RATE <= steady <= 1.05 * RATE, steady
    return steady


async def test_three_mailers_share_the_quota_and_one_alone_uses_all_of_it(
    nats_url: str, namespace: Namespace, nats_client: NatsClient
) -> None:
    async with SesAccount(max_send_rate=RATE) as ses:
        settings = quota_settings(nats_url, namespace, ses.url)
        async with AsyncExitStack() as mailers:
            three = [await mailers.enter_async_context(run_mailer(settings)) for _ in range(3)]
            assert {quota_of(m).rate for m in three} == {RATE}
            await send_backlog(nats_client, namespace, ses)
            together = assert_quota_kept_and_used(ses, 0)
            assert all(m.metrics for m in three)
        async with run_mailer(settings):
            first = len(ses.sent_at)
            await send_backlog(nats_client, namespace, ses)
            alone = assert_quota_kept_and_used(ses, first)
        print(f"\nquota {RATE}/s: three mailers {together:.2f}/s, one mailer {alone:.2f}/s")


async def test_the_mailers_follow_a_raised_quota(
    nats_url: str, namespace: Namespace, nats_client: NatsClient
) -> None:
    async with SesAccount(max_send_rate=RATE) as ses:
        settings = quota_settings(nats_url, namespace, ses.url, ses_quota_refresh_seconds=0.2)
        async with run_mailer(settings) as mailer:
            quota = quota_of(mailer)
            assert (quota.rate, quota.source) == (RATE, "ses")
            ses.raise_quota(RATE * 2)

            async def raised() -> bool | None:
                return quota.rate == RATE * 2 or None

            assert await eventually(raised, timeout=30)


async def test_the_setting_gives_the_rate_where_ses_cannot(
    nats_url: str, namespace: Namespace, moto_ses: MotoSes
) -> None:
    # moto's sesv2 has no GetAccount.
    env = {k.lower(): v for k, v in moto_ses.mailer_env(SES_FROM).items()}
    settings = settings_for(nats_url, namespace, **{**env, "ses_max_send_rate": 3.5})
    async with run_mailer(settings) as mailer:
        quota = quota_of(mailer)
        assert (quota.rate, quota.source) == (3.5, "setting")
