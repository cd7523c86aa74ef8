"""Bad input is a 422 problem (RFC 9457) naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.crm.helpers import Crm, SignedIn, add_client, sign_up

PROBLEM = "application/problem+json"


async def _post(crm: Crm, who: SignedIn, path: str, body: Any) -> dict[str, Any]:
    response = await crm.http.post(path, json=body, headers=who.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 422
    assert problem["title"].startswith("Unprocessable")
    assert problem["type"] == "about:blank"
    assert problem["errors"], problem
    return problem


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"email": "c@example.org"}, "name", "Field required"),
        ({"name": "C"}, "body", "a client needs an email address or a phone number"),
        ({"name": "C", "email": "not-an-email"}, "email", "not a valid email address"),
        ({"name": "C", "email": "c@example.org", "stage": "married"}, "stage", "'lead'"),
        ({"name": ["C"], "email": "c@example.org"}, "name", "valid string"),
        ({"name": "C", "email": "c@example.org", "custom_fields": [1]}, "custom_fields", "dict"),
        ({"name": "C\r\nBcc: x@y.z", "email": "c@example.org"}, "name", "one line"),
        ({"name": "C", "email": "c@example.org", "notes": "a\x00b"}, "notes", "NUL"),
        (
            {"name": "C", "email": "c@example.org", "custom_fields": {"k": "\x00"}},
            "custom_fields",
            "NUL",
        ),
    ],
)
async def test_bad_client_is_422(crm: Crm, body: dict[str, Any], field: str, words: str) -> None:
    who = await sign_up(crm.http)
    problem = await _post(crm, who, "/clients", body)
    assert problem["errors"][0]["field"] == field
    assert field in problem["detail"], problem["detail"]
    assert words in problem["detail"], problem["detail"]


async def test_bad_tasks_are_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    naive = await _post(
        crm, who, "/tasks", {"client_id": client["id"], "due_at": "2030-01-01T09:00:00"}
    )
    assert naive["errors"][0]["field"] == "due_at"
    assert "must include a time zone" in naive["detail"]

    wrong_type = await _post(crm, who, "/tasks", {"client_id": 12, "due_at": "soon"})
    assert {e["field"] for e in wrong_type["errors"]} == {"client_id", "due_at"}

    far = await _post(
        crm, who, "/tasks", {"client_id": client["id"], "due_at": "0001-01-01T00:00:00+05:00"}
    )
    assert "between 1970 and 9999" in far["detail"]

    missing = await _post(crm, who, "/tasks", {})
    assert {e["field"] for e in missing["errors"]} == {"client_id", "due_at"}
    assert all(e["message"] == "Field required" for e in missing["errors"])


async def test_malformed_json_bad_ids_and_bad_query_are_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    response = await crm.http.post(
        "/clients",
        content=b'{"name": "C", ',
        headers={**who.headers, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "JSON" in response.json()["detail"]

    bad_id = await crm.http.get("/clients/not-a-uuid", headers=who.headers)
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["field"] == "path.client_id"
    bad_status = await crm.http.get("/tasks", params={"status": "lost"}, headers=who.headers)
    assert bad_status.status_code == 422
    assert bad_status.json()["errors"][0]["field"].startswith("query.status")


async def test_registration_errors_do_not_echo_the_password(crm: Crm) -> None:
    response = await crm.http.post(
        "/auth/register", json={"email": "a@example.com", "password": "s3cr3t!", "name": "A"}
    )
    assert response.status_code == 422
    assert "s3cr3t!" not in response.text
    assert response.json()["errors"][0]["field"] == "password"
    zone = await crm.http.post(
        "/auth/register",
        json={
            "email": "a@example.com",
            "password": "long enough",
            "name": "A",
            "timezone": "Mars/Base",
        },
    )
    assert zone.status_code == 422
    assert "is not a time zone we know" in zone.json()["detail"]
