"""Sign in with Google: the ID token is verified against keys served by a local JWKS
server (no network) — signature, audience, issuer, expiry, verified email — and linking
to an existing account keeps its password working (the old system's bug 6)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import PASSWORD, Crm, sign_up
from tests.crm.running import running_crm

CLIENT_ID = "realtoros-test.apps.googleusercontent.com"
KID = "test-key-1"


class Google:
    """Signs ID tokens like Google and serves the public key as a JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0
        self.url = ""

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    async def serve(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response(self.jwks())

    def token(self, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "sub": "1090000000001",
            "email": "dana@harbor.example",
            "email_verified": True,
            "name": "Dana Ruiz",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture
async def google() -> AsyncIterator[Google]:
    fake = Google()
    app = web.Application()
    app.router.add_get("/oauth2/v3/certs", fake.serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/oauth2/v3/certs"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def crm_google(
    crm_settings: CrmSettings, google: Google, nats_client: object
) -> AsyncIterator[Crm]:
    async with running_crm(
        crm_settings, google_client_id=CLIENT_ID, google_jwks_url=google.url
    ) as crm:
        yield crm


async def _google_sign_in(crm: Crm, token: str) -> Any:
    return await crm.http.post("/auth/google", json={"id_token": token})


async def test_linking_google_keeps_password_login_working(crm_google: Crm, google: Google) -> None:
    crm = crm_google
    who = await sign_up(crm.http, email="Dana@Harbor.example")
    signed_in = await _google_sign_in(crm, google.token())
    assert signed_in.status_code == 200, signed_in.text
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    me = (await crm.http.get("/me", headers=bearer)).json()
    assert me["id"] == who.agent["id"]  # linked by the verified email, not a new account
    assert me["google_linked"] is True

    # Bug 6: after Google, the password still signs in — again and again.
    for _ in range(2):
        login = await crm.http.post(
            "/auth/login", json={"email": "dana@harbor.example", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        assert (await _google_sign_in(crm, google.token())).status_code == 200
    assert google.fetches == 1  # the keys were cached


async def test_a_new_google_user_gets_an_account_without_a_password(
    crm_google: Crm, google: Google
) -> None:
    crm = crm_google
    token = google.token(sub="42", email="new@example.com", name="New Agent")
    first = await _google_sign_in(crm, token)
    again = await _google_sign_in(crm, google.token(sub="42", email="new@example.com"))
    assert first.status_code == again.status_code == 200
    me = await crm.http.get(
        "/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
    )
    assert me.json()["name"] == "New Agent"
    # No password was ever set: no password signs in.
    login = await crm.http.post("/auth/login", json={"email": "new@example.com", "password": "x"})
    assert login.status_code == 401


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "someone-else.apps.googleusercontent.com"}, "Audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 4000}, "expired"),
        ({"email_verified": False}, "not verified"),
    ],
)
async def test_invalid_id_tokens_are_refused(
    crm_google: Crm, google: Google, claims: dict[str, Any], words: str
) -> None:
    response = await _google_sign_in(crm_google, google.token(**claims))
    assert response.status_code == 401, response.text
    assert words in response.json()["detail"]


async def test_a_token_signed_by_another_key_is_refused(crm_google: Crm, google: Google) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = await _google_sign_in(crm_google, google.token(key=forger))
    assert response.status_code == 401
    assert "Signature verification failed" in response.json()["detail"]
    assert (await _google_sign_in(crm_google, "not-a-jwt")).status_code == 401


async def test_small_clock_skew_is_tolerated(crm_google: Crm, google: Google) -> None:
    now = int(time.time())
    token = google.token(exp=now - 20, iat=now - 3600)  # 20 s late: within the 60 s skew
    assert (await _google_sign_in(crm_google, token)).status_code == 200


async def test_google_sign_in_is_off_without_a_client_id(crm: Crm, google: Google) -> None:
    response = await crm.http.post("/auth/google", json={"id_token": google.token()})
    assert response.status_code == 404
