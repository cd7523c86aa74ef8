"""The four services as OS processes, the one way the tests start them: each with its
own environment (a stack's common settings plus its own), all started at once, each
awaited until ready, all stopped at the end."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from realtoros_contracts import Namespace
from tests.support.processes import ServiceProcess

SERVICES = ("crm", "scheduler", "composer", "mailer")
# The agent the whole-stack tests register (with the signature and postal address that
# automatic sending needs), and how they sign in.
AGENT = {
    "email": "dana@harbor.example",
    "password": "correct horse battery",
    "name": "Dana Ruiz",
    "brokerage": "Harbor Realty",
    "signature": "Dana Ruiz",
    "postal_address": "1 Harbor Way, Salem, MA 01970",
}
AGENT_LOGIN = {"email": AGENT["email"], "password": AGENT["password"]}


def stack_env(
    nats_url: str,
    namespace: Namespace,
    database_url: str,
    *,
    llm_url: str | None,
    mailer: dict[str, str],
    **common: str,
) -> dict[str, dict[str, str]]:
    """Each service's environment on the test's NATS namespace and database: the composer
    on ``llm_url`` (templates when None), the mailer with ``mailer`` (e.g.
    ``MotoSes.mailer_env``), ``common`` added to all four."""
    shared = {"NATS_URL": nats_url, "NATS_NAMESPACE": namespace.name, "LOG_LEVEL": "INFO"}
    shared |= common
    composer = (
        {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_url}
        if llm_url is not None
        else {"COMPOSER_MODE": "template"}
    )
    return {
        "crm": {**shared, "DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)},
        "scheduler": {**shared, "TICK_INTERVAL_SECONDS": "0.5"},
        "composer": {**shared, **composer},
        "mailer": {**shared, **mailer},
    }


@contextmanager
def running(
    envs: dict[str, dict[str, str]], log_dir: Path, *, ready_timeout: float = 180
) -> Iterator[dict[str, ServiceProcess]]:
    """``python -m realtoros_<name>`` for each of ``envs``, logs in ``log_dir``; yields the
    processes once every one answers /readyz (the timeout is generous: four services
    import at once on a busy machine)."""
    procs = {name: ServiceProcess(name, env, log_dir) for name, env in envs.items()}
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready(ready_timeout)
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
