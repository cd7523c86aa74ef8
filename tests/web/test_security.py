"""The web app's defences: CSRF on every form, the session cookie's flags, one agent never
sees another's data, output is escaped, signing out ends the session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS

from realtoros_contracts import Namespace
from realtoros_crm.app import build_app
from tests.web.conftest import settings_for
from tests.web.support import PASSWORD, WebClient, csrf_of


def session_cookie(response: httpx.Response) -> str:
    cookies = [
        c for c in response.headers.get_list("set-cookie") if c.startswith("realtoros_session=")
    ]
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return cookies[0]


async def test_a_form_without_the_csrf_token_is_refused(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = {"name": "Jordan Lee", "email": "jordan@example.com", "stage": "lead"}
    missing = await web.http.post("/app/clients/new", data=form)
    forged = await web.http.post("/app/clients/new", data={**form, "csrf": "0" * 64})
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "This form has expired" in missing.text
    listing = await web.http.get("/app/clients")
    assert "Jordan Lee" not in listing.text
    accepted = await web.add_client(form)
    assert accepted.status_code == 303


async def test_the_sign_in_form_needs_its_csrf_cookie_too(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    await web.sign_out()
    web.http.cookies.clear()
    refused = await web.http.post(
        "/app/login", data={"email": "dana@harbor.example", "password": PASSWORD, "csrf": "x" * 43}
    )
    assert refused.status_code == 403
    signed_in = await web.submit(
        "/app/login", "/app/login", {"email": "dana@harbor.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_lax(web: WebClient) -> None:
    cookie = session_cookie(await web.sign_up("dana@harbor.example")).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/app" in cookie  # the API, which takes bearer tokens, never sees it
    assert "secure" not in cookie  # plain http, WEB_SECURE_COOKIES=auto


@pytest.fixture
async def behind_tls(
    database_url: str, nats_url: str, namespace: Namespace, nats_client: NATS
) -> AsyncIterator[WebClient]:
    app = build_app(settings_for(database_url, nats_url, namespace, web_secure_cookies="always"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://crm.test") as http,
    ):
        yield WebClient(app, http)


async def test_the_session_cookie_is_secure_behind_tls(behind_tls: WebClient) -> None:
    cookie = session_cookie(await behind_tls.sign_up("dana@harbor.example")).lower()
    assert "; secure" in cookie


async def test_another_agents_client_is_not_found(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    created = await web.add_client({"name": "Jordan Lee", "email": "j@example.com"})
    client_url = created.headers["location"]
    plans = await web.http.get("/app/plans")
    plan_url = re.search(r'href="(/app/plans/[0-9a-f-]{36})"', plans.text)
    assert plan_url is not None
    await web.sign_out()
    await web.sign_up("sam@harbor.example", name="Sam Park")
    for path in (client_url, f"{client_url}/edit", plan_url.group(1)):
        response = await web.http.get(path)
        assert response.status_code == 404, path
        assert "Jordan Lee" not in response.text
    page = await web.http.get("/app/clients")
    posted = await web.http.post(
        f"{client_url}/edit",
        data={"csrf": csrf_of(page.text), "name": "Taken", "email": "t@example.com"},
    )
    assert posted.status_code == 404


async def test_what_agents_type_is_escaped(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    created = await web.add_client(
        {"name": "<script>alert(1)</script>", "email": "x@example.com", "notes": '"><img src=x>'}
    )
    page = await web.http.get(created.headers["location"])
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img src=x>" not in page.text


async def test_signing_out_ends_the_session(web: WebClient) -> None:
    cookie = session_cookie(await web.sign_up("dana@harbor.example"))
    raw = re.match(r"realtoros_session=([^;]+)", cookie)
    assert raw is not None
    await web.sign_out()
    web.http.cookies.set("realtoros_session", raw.group(1))
    response = await web.http.get("/app")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/app/login")


async def test_the_google_button_shows_only_when_configured(
    web: WebClient, database_url: str, nats_url: str, namespace: Namespace
) -> None:
    without = await web.http.get("/app/login")
    assert "accounts.google.com/gsi/client" not in without.text
    settings = settings_for(database_url, nats_url, namespace, google_client_id="abc.apps.test")
    app = build_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        page = await http.get("/app/login")
    assert "accounts.google.com/gsi/client" in page.text
    assert 'data-client_id="abc.apps.test"' in page.text


async def test_signing_in_again_works_with_an_ended_session_cookie(web: WebClient) -> None:
    cookie = session_cookie(await web.sign_up("dana@harbor.example"))
    raw = re.match(r"realtoros_session=([^;]+)", cookie)
    assert raw is not None
    await web.sign_out()
    # Revoked, yet still sent, as a browser keeps it until it is replaced.
    web.http.cookies.set("realtoros_session", raw.group(1), domain="crm.test", path="/app")
    form = await web.http.get("/app/login")
    assert form.status_code == 200
    signed_in = await web.http.post(
        "/app/login",
        data={"csrf": csrf_of(form.text), "email": "dana@harbor.example", "password": PASSWORD},
    )
    assert signed_in.status_code == 303
    assert (await web.http.get("/app")).status_code == 200


async def test_pages_forbid_framing_and_caching(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    response = await web.http.get("/app/clients")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
