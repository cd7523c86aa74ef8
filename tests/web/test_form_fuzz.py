"""Form fuzzing: every POST route of the web app gets generated forms (any of the fields
the app's forms use, with odd values: NUL, invisible characters, huge, non-numbers, bad
dates, markup) with a valid CSRF token, on real rows and on unknown ids. None may answer
5xx. ``REALTOROS_FUZZ_EXAMPLES`` multiplies the examples for a longer run."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import realtoros_crm.web
from realtoros_contracts import Namespace
from realtoros_crm.app import build_app
from realtoros_crm.web.routes import routers
from tests.web.conftest import settings_for
from tests.web.support import PASSWORD, csrf_of

EXAMPLES = 8 * int(os.environ.get("REALTOROS_FUZZ_EXAMPLES", "1"))
SKIPPED = {"/app/logout", "/app/register", "/app/google"}  # they would end the session
TEMPLATES = Path(realtoros_crm.web.__file__).parent / "templates"
FORM_FIELDS = [
    "name", "email", "phone", "stage", "property_address", "property_type", "source",
    "timezone", "notes", "tags", "custom_fields", "description", "start_on_stage", "title",
    "brokerage", "password", "bio", "signature", "postal_address", "tone", "sending_start",
    "sending_end", "map:Email", "client_id", "task_id",
]  # fmt: skip
ODD = [
    "", "\x00", "a\x00b", "\u200b", "NaN", "Infinity", "1e400", "-1", "9" * 40, "0",
    "2026-13-45T25:61", "2026-05-01T09:00", "yesterday", "<script>alert(1)</script>",
    "' OR 1=1 --", "x" * 6000, "on", "true", "null", "[]", "{}", '{"a": NaN}',
    "00000000-0000-0000-0000-000000000000", "lead", "approval", "day1", "email", "\r\n",
]  # fmt: skip
ACTIONS = ["approve", "skip", "pause", "resume", "cancel", "complete", "reopen", "x"]


def _field_names() -> list[str]:
    names = set(FORM_FIELDS)
    for template in TEMPLATES.glob("*.html"):
        names |= set(re.findall(r'name="([a-z_:]+)"', template.read_text()))
    return sorted(names - {"csrf"})


FIELDS = _field_names()
VALUES = st.one_of(st.sampled_from(ODD), st.text(max_size=40))
FORMS = st.dictionaries(st.sampled_from(FIELDS), st.one_of(VALUES, st.lists(VALUES, max_size=3)))


@pytest.fixture
def signed_in(
    database_url: str, nats_url: str, namespace: Namespace, nats_client: Any
) -> Iterator[TestClient]:
    app = build_app(settings_for(database_url, nats_url, namespace))
    with TestClient(app, base_url="http://crm.test", raise_server_exceptions=False) as client:
        form = {"name": "Fuzz Agent", "email": "fuzz@example.com", "password": PASSWORD}
        page = client.get("/app/register")
        registered = client.post("/app/register", data={"csrf": csrf_of(page.text), **form})
        assert registered.status_code in (200, 303), registered.text
        yield client


def _rows(client: TestClient) -> dict[str, str]:
    """Real ids for the paths: a client, its task, a plan and its step (through the API)."""
    login = client.post("/auth/login", json={"email": "fuzz@example.com", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    person = client.post(
        "/clients", json={"name": "Row", "email": "row@example.org"}, headers=bearer
    )
    task = client.post(
        "/tasks",
        json={"client_id": person.json()["id"], "due_at": "2030-01-01T09:00:00Z"},
        headers=bearer,
    )
    step = {"delay_days": 1, "purpose": "Day 1"}
    plan = client.post("/plans", json={"name": "Fuzz plan", "steps": [step]}, headers=bearer)
    assert plan.status_code == 201, plan.text
    return {
        "client_id": person.json()["id"],
        "task_id": task.json()["id"],
        "plan_id": plan.json()["id"],
        "step_id": plan.json()["steps"][0]["id"],
        "run_id": str(uuid.uuid4()),
    }


class PathIds(dict[str, str]):
    """Path parameters: the real rows' ids, a random id for any other (new routes too)."""

    def __missing__(self, key: str) -> str:
        return str(uuid.uuid4())


def _post_routes() -> list[str]:
    routes = [r for router in routers() for r in router.routes if isinstance(r, APIRoute)]
    return sorted(
        r.path for r in routes
        if r.path.startswith("/app") and "POST" in (r.methods or ()) and r.path not in SKIPPED
    )  # fmt: skip


def test_no_generated_form_gets_a_5xx(signed_in: TestClient) -> None:
    client, rows = signed_in, _rows(signed_in)
    csrf = csrf_of(client.get("/app").text)
    failures: list[str] = []
    statuses: list[int] = []
    routes = _post_routes()
    assert len(routes) >= 15, routes

    for route in routes:
        _fuzz(client, route, rows, csrf, (failures, statuses))
    assert not failures, "\n".join(failures[:20])
    # The forms got past the CSRF check and the sign-in: the fuzz reached the handlers.
    assert statuses.count(403) + statuses.count(401) < len(statuses) / 4, statuses
    assert {200, 303, 422} & set(statuses)


def _fuzz(
    client: TestClient,
    route: str,
    rows: dict[str, str],
    csrf: str,
    record: tuple[list[str], list[int]],
) -> None:
    """Generated forms, then undecodable bytes, to one route; 5xx answers into failures."""
    failures, statuses = record

    @given(form=FORMS, real=st.booleans(), action=st.sampled_from(ACTIONS))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def post(form: dict[str, Any], real: bool, action: str) -> None:
        ids = {k: v if real else str(uuid.uuid4()) for k, v in rows.items()}
        path = route.format_map(PathIds(ids, action=action))
        response = client.post(path, data={**form, "csrf": csrf})
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"POST {path} {form!r}: {response.status_code}")

    post()
    raw = client.post(
        route.format_map(PathIds(rows, action="x")),
        content=b"name=%ff%fe%00&csrf=" + csrf.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    if raw.status_code >= 500:
        failures.append(f"POST {route} (undecodable bytes): {raw.status_code}")
