"""Nobody else can lock an agent out (per-(account, address) and per-device limits, a larger
per-account limit only for unknown devices), and logging out ends the access token too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from realtoros_crm.agents.devices import DEVICE_COOKIE
from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import PASSWORD, Crm, sign_up
from tests.crm.running import running_crm

LIMITS: dict[str, Any] = {"login_max_failures": 3, "login_max_failures_per_account": 6}


@asynccontextmanager
async def client_at(app: FastAPI, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser, at another client address, on the same running app."""
    transport = httpx.ASGITransport(app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http:
        yield http


async def _login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> int:
    response = await http.post("/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_failures_from_elsewhere_never_block_the_agent(
    crm_settings: CrmSettings, nats_client: object
) -> None:
    async with running_crm(crm_settings, client_ip="198.51.100.7", **LIMITS) as crm:
        who = await sign_up(crm.http)  # signs in: this browser is now a known device
        email = who.agent["email"]
        assert crm.http.cookies.get(DEVICE_COOKIE)
        async with client_at(crm.app, "203.0.113.66") as attacker:
            statuses = [await _login(attacker, email, "guess") for _ in range(5)]
            assert statuses == [401, 401, 401, 429, 429]  # the pair limit: there, only there
        assert await _login(crm.http, email) == 200

        # Spread over many addresses, the guesses reach the account limit: unknown devices
        # are stopped, even from a fresh address; the agent's known device is not.
        for n in range(6):
            async with client_at(crm.app, f"192.0.2.{n + 10}") as bot:
                await _login(bot, email, "guess")
        async with client_at(crm.app, "192.0.2.200") as new_device:
            assert await _login(new_device, email) == 429
        assert await _login(crm.http, email) == 200


async def test_the_agents_own_device_is_held_to_its_own_limit(
    crm_settings: CrmSettings, nats_client: object
) -> None:
    async with running_crm(crm_settings, **LIMITS) as crm:
        who = await sign_up(crm.http)
        email = who.agent["email"]
        statuses = [await _login(crm.http, email, "typo") for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        forged = {DEVICE_COOKIE: crm.http.cookies[DEVICE_COOKIE][:-4] + "0000"}
        async with client_at(crm.app, "198.51.100.50") as other:
            other.cookies.update(forged)  # a tampered cookie is no known device
            signed_in = await other.post("/auth/login", json={"email": email, "password": PASSWORD})
            assert signed_in.status_code == 200
            assert f"{DEVICE_COOKIE}=" in signed_in.headers["set-cookie"]  # a new one is issued


async def test_logging_out_ends_the_access_token_of_that_session_only(crm: Crm) -> None:
    who = await sign_up(crm.http)
    email = who.agent["email"]
    first = (await crm.http.post("/auth/login", json={"email": email, "password": PASSWORD})).json()
    second = (
        await crm.http.post("/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    other = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await crm.http.get("/me", headers=bearer)).status_code == 200
    assert (await crm.http.get("/clients", headers=bearer)).status_code == 200

    body = {"refresh_token": first["refresh_token"]}
    assert (await crm.http.post("/auth/logout", json=body, headers=bearer)).status_code == 204
    assert (await crm.http.get("/me", headers=bearer)).status_code == 401
    assert (await crm.http.get("/clients", headers=bearer)).status_code == 401
    assert (await crm.http.get("/me", headers=other)).status_code == 200

    # A refreshed session keeps working; the refreshed-away access token too (same session).
    renewed = await crm.http.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    fresh = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert (await crm.http.get("/me", headers=fresh)).status_code == 200
