"""Accounts: register, sign in, refresh (rotating, single use, reuse revokes), log out,
throttled failures that reveal nothing, and the profile."""

from __future__ import annotations

from typing import Any

import httpx

from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import PASSWORD, Crm, sign_up
from tests.crm.running import running_crm


async def _login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": password})


async def test_refresh_tokens_rotate_once_and_reuse_revokes_the_family(crm: Crm) -> None:
    who = await sign_up(crm.http)
    tokens = (await _login(crm.http, who.agent["email"])).json()
    assert tokens["expires_in"] == 15 * 60  # short-lived by default
    assert tokens["refresh_token"]
    assert tokens["refresh_expires_in"] == 30 * 86400

    first = await crm.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200, first.text
    renewed = first.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    me = await crm.http.get("/me", headers={"Authorization": f"Bearer {renewed['access_token']}"})
    assert me.json()["id"] == who.agent["id"]

    # The spent token again: refused, and the renewed one dies with it (stolen copy).
    replay = await crm.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    after = await crm.http.post("/auth/refresh", json={"refresh_token": renewed["refresh_token"]})
    assert after.status_code == 401


async def test_logout_revokes_the_refresh_token(crm: Crm) -> None:
    who = await sign_up(crm.http)
    tokens = (await _login(crm.http, who.agent["email"])).json()
    body = {"refresh_token": tokens["refresh_token"]}
    assert (await crm.http.post("/auth/logout", json=body)).status_code == 401  # signed in only
    out = await crm.http.post("/auth/logout", json=body, headers=who.headers)
    assert out.status_code == 204
    assert (await crm.http.post("/auth/refresh", json=body)).status_code == 401
    # Another agent's token is not theirs to revoke.
    other = await sign_up(crm.http)
    theirs = (await _login(crm.http, other.agent["email"])).json()["refresh_token"]
    await crm.http.post("/auth/logout", json={"refresh_token": theirs}, headers=who.headers)
    assert (await crm.http.post("/auth/refresh", json={"refresh_token": theirs})).is_success


async def test_unknown_email_and_wrong_password_look_the_same(crm: Crm) -> None:
    who = await sign_up(crm.http)
    wrong = await _login(crm.http, who.agent["email"], "not the password")
    unknown = await _login(crm.http, "nobody-here@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "password" not in wrong.text.replace("email address or password", "")


async def test_failed_logins_are_throttled_per_email_and_per_ip(
    crm_settings: CrmSettings, nats_client: object
) -> None:
    async with running_crm(crm_settings, login_max_failures=3, login_max_failures_per_ip=5) as crm:
        who = await sign_up(crm.http)
        email = who.agent["email"]
        crm.http.cookies.clear()  # an unknown device (a known one: test_sign_in_throttle)
        for _ in range(3):
            assert (await _login(crm.http, email, "wrong password")).status_code == 401
        blocked = await _login(crm.http, email)  # even the right password, now
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 900
        assert blocked.headers["content-type"] == "application/problem+json"
        # An unknown address is throttled just the same: a 429 tells nothing either.
        for _ in range(2):
            await _login(crm.http, "ghost@example.com", "x")
        ghost = await _login(crm.http, "ghost2@example.com", "x")
        assert ghost.status_code == 429  # the client address has used its 5 failures

    # Stored in PostgreSQL: another replica (another app on the same database) agrees.
    async with running_crm(crm_settings, login_max_failures=3) as replica:
        assert (await _login(replica.http, email)).status_code == 429
    async with running_crm(crm_settings, client_ip="198.51.100.9") as other_ip:
        # The limit is per (account, address): failures elsewhere do not block this one.
        assert (await _login(other_ip.http, email)).status_code == 200


async def test_profile_read_and_update(crm: Crm) -> None:
    who = await sign_up(crm.http)
    change: dict[str, Any] = {
        "name": "Dana Ruiz",
        "phone": "+1 555 0100",
        "title": "Broker",
        "brokerage": "Harbor Realty",
        "bio": "North Shore homes since 2012.",
        "signature": "Dana Ruiz\nHarbor Realty",
        "postal_address": "1 Harbor Way, Salem, MA 01970",
        "timezone": "America/New_York",
        "tone": "warm",
        "sending_days": [5, 1, 2, 2],
        "sending_start": "08:30",
        "sending_end": "17:00",
        "send_mode": "approval",
    }
    updated = await crm.http.patch("/me", json=change, headers=who.headers)
    assert updated.status_code == 200, updated.text
    profile = updated.json()
    assert profile["sending_days"] == [1, 2, 5]
    assert profile["sending_start"] == "08:30:00"
    assert profile["send_mode"] == "approval"
    assert profile["bio"] == change["bio"]
    assert (await crm.http.get("/me", headers=who.headers)).json() == profile

    bad: dict[str, Any]
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"sending_days": [0]},
        {"sending_days": []},
        {"sending_start": "18:00", "sending_end": "09:00"},
        {"send_mode": "sometimes"},
        {"name": None},
    ):
        response = await crm.http.patch("/me", json=bad, headers=who.headers)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    other = await sign_up(crm.http)
    taken = await crm.http.patch(
        "/me", json={"email": other.agent["email"].upper()}, headers=who.headers
    )
    assert taken.status_code == 409
    assert (await crm.http.get("/me", headers=who.headers)).json() == profile
