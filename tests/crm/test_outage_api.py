"""While PostgreSQL is unreachable every route answers 503 with Retry-After (problem
details; the web app a plain page), never 500."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from realtoros_crm.agents.security import issue_token
from realtoros_crm.app import build_app
from realtoros_crm.settings import CrmSettings
from tests.web.support import csrf_of


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def signed_in(crm_settings: CrmSettings) -> dict[str, str]:
    """A valid access token (it is checked without the database) of some agent."""
    key = crm_settings.jwt_secret.get_secret_value()
    token = issue_token(
        uuid.uuid4(),
        key=key,
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
        session_id=uuid.uuid4(),
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def crm_without_database(crm_settings: CrmSettings) -> AsyncIterator[httpx.AsyncClient]:
    url = f"postgresql://nobody@127.0.0.1:{_closed_port()}/gone"
    app = build_app(CrmSettings.model_validate({**crm_settings.model_dump(), "database_url": url}))
    # The error handler answers, then Starlette re-raises for the server to log: a server
    # would not pass that on to the client, and neither does this transport.
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://crm.test") as http,
    ):
        yield http


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/auth/login", {"email": "a@example.com", "password": "correct horse"}),
        ("POST", "/auth/register", {"email": "b@example.com", "password": "b" * 12, "name": "B"}),
        ("GET", "/clients", None),
        ("GET", "/tasks", None),
    ],
)
async def test_api_routes_answer_503_with_retry_after(
    crm_without_database: httpx.AsyncClient,
    signed_in: dict[str, str],
    method: str,
    path: str,
    body: dict[str, str] | None,
) -> None:
    response = await crm_without_database.request(method, path, json=body, headers=signed_in)
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"
    assert "can't reach its database" in problem["detail"]


async def test_readiness_says_the_database_is_down(crm_without_database: httpx.AsyncClient) -> None:
    response = await crm_without_database.get("/readyz")
    assert response.status_code == 503
    assert any(p.startswith("database:") for p in response.json()["problems"])


async def test_the_web_app_shows_a_plain_retrying_page(
    crm_without_database: httpx.AsyncClient,
) -> None:
    login = await crm_without_database.get("/app/login")  # needs no database
    form = {"email": "a@example.com", "password": "correct horse", "csrf": csrf_of(login.text)}
    response = await crm_without_database.post("/app/login", data=form)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "RealtorOS can&#39;t reach its database; retrying" in response.text
    assert int(response.headers["Retry-After"]) > 0
