"""Every page of the web app answers for a signed-in agent, empty account and full (the
demo's), and nothing is reachable without signing in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from realtoros_crm.clients.models import Client
from realtoros_crm.demo import fill_demo, run_demo
from realtoros_crm.emails.models import Email
from realtoros_crm.settings import normalise_database_url
from tests.web.support import APP_PAGES, PASSWORD, WebClient


async def test_every_page_renders_for_a_new_agent(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    for path in APP_PAGES:
        response = await web.http.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
        assert "<h1>" in response.text


async def test_every_page_renders_with_the_demo_account(web: WebClient) -> None:
    state = web.app.state.crm
    await fill_demo(state.sessions, state.clock(), "demo@harbor.example", PASSWORD)
    await web.submit(
        "/app/login", "/app/login", {"email": "demo@harbor.example", "password": PASSWORD}
    )
    dashboard = await web.http.get("/app")
    assert "Good day, Dana Ruiz" in dashboard.text
    assert 'data-figure="total-clients"><span class="n">24<' in dashboard.text
    links = set(
        re.findall(
            r'href="(/app/(?:clients|drafts|tasks|emails|plans)/[0-9a-f-]{36})"', dashboard.text
        )
    )
    for path in [*APP_PAGES, *sorted(links)]:
        response = await web.http.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
    clients = await web.http.get("/app/clients")
    for path in sorted(set(re.findall(r'href="(/app/clients/[0-9a-f-]{36})"', clients.text)))[:5]:
        assert (await web.http.get(path)).status_code == 200
        assert (await web.http.get(f"{path}/edit")).status_code == 200


async def test_the_demo_writes_only_to_reserved_example_domains(web: WebClient) -> None:
    state = web.app.state.crm
    made = await fill_demo(state.sessions, state.clock(), "demo@harbor.example", PASSWORD)
    async with state.sessions() as session:
        clients = (await session.scalars(select(Client.email))).all()
        emails = (await session.scalars(select(Email.to_email))).all()
    assert len(clients) == made.clients == 24
    assert len(emails) >= made.emails + made.drafts
    domains = {address.rsplit("@", 1)[1] for address in [*clients, *emails]}
    assert domains <= {"example.com", "example.org", "example.net"}


@pytest.mark.parametrize("path", ["/app", "/app/clients", "/app/settings"])
async def test_pages_ask_to_sign_in_first(web: WebClient, path: str) -> None:
    response = await web.http.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/app/login")


async def test_the_demo_command_refuses_an_address_whose_password_differs(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = normalise_database_url(database_url)
    assert await run_demo(url, "dana@harbor.example", PASSWORD) == 0
    assert "with 24 clients" in capsys.readouterr().out
    assert await run_demo(url, "dana@harbor.example", "another password") == 1
    assert "already has an account with another password" in capsys.readouterr().out
    assert await run_demo(url, "dana@harbor.example", PASSWORD) == 0
    assert "already holds the demo data" in capsys.readouterr().out
    assert await run_demo(url, "not an address", PASSWORD) == 1
