"""Bad input is a 422 with a message, never a 500: NUL and unrepresentable text, numbers
JSON cannot hold, datetimes that are not ISO 8601 with a time zone, invisible names."""

from __future__ import annotations

import json
from typing import Any

from tests.crm.helpers import Crm, add_client, sign_up

CLIENT = '{"name": "Nan Client", "email": "nan@example.org", "custom_fields": {"budget": NUMBER}}'


NUL_PATHS = [
    "/clients?q=%00",
    "/clients?q=a%00b",
    "/clients?tag=%00",
    "/clients?source=x%00",
    "/clients/export.csv?q=%00",
    "/tasks?from=%00",
    "/activity?limit=1%00",
    "/app/clients?q=%00",
    "/app/clients?tag=a%00",
    "/app/emails?q=%00",
    "/clients/%00",
]


async def test_a_nul_in_the_address_is_a_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    for path in NUL_PATHS:
        response = await crm.http.get(path, headers=who.headers)
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.json()["detail"]


async def test_numbers_json_cannot_hold_are_a_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    headers = {**who.headers, "content-type": "application/json"}
    client = await add_client(crm.http, who)
    for number in ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"]:
        created = await crm.http.post(
            "/clients", content=CLIENT.replace("NUMBER", number), headers=headers
        )
        assert created.status_code == 422, created.text
        assert "custom_fields" in created.json()["detail"]
        body = '{"custom_fields": {"budget": NUMBER}}'.replace("NUMBER", number)
        patched = await crm.http.patch(f"/clients/{client['id']}", content=body, headers=headers)
        assert patched.status_code == 422, patched.text


async def test_unrepresentable_text_in_a_body_is_a_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    headers = {**who.headers, "content-type": "application/json"}
    texts = ['"\\u0000"', '"a\\ud800b"', '"\\udfff"']
    for field, text in (
        (f, t) for f in ("name", "notes", "property_address", "source") for t in texts
    ):
        body: dict[str, Any] = {"name": "Ok Name", "email": "ok@example.org"}
        raw = json.dumps(body)[:-1] + f', "{field}": {text}}}'
        response = await crm.http.post("/clients", content=raw, headers=headers)
        assert response.status_code == 422, (field, response.text)


BAD_DUE_AT: list[Any] = [123, 1.5e9, "123", "2026-05-01T09:00:00", "2026-05-01", "x", True, None]
BAD_QUERIES = [
    "/tasks?from=2026-05-01T00:00:00",
    "/tasks?from=123",
    "/tasks/calendar?from=1700000000&to=1700086400",
    "/dashboard?from=2026-05-01T00:00:00&to=2026-05-02T00:00:00Z",
]


async def test_datetimes_are_iso_strings_with_a_time_zone(crm: Crm) -> None:
    who = await sign_up(crm.http)
    client = await add_client(crm.http, who)
    for due_at in BAD_DUE_AT:
        body = {"client_id": client["id"], "due_at": due_at}
        response = await crm.http.post("/tasks", json=body, headers=who.headers)
        assert response.status_code == 422, (due_at, response.text)
        assert "due_at" in response.json()["detail"]
    for query in BAD_QUERIES:
        response = await crm.http.get(query, headers=who.headers)
        assert response.status_code == 422, (query, response.text)
    for due_at in ("2026-05-01T09:00:00Z", "2026-05-01T09:00:00-04:00"):
        body = {"client_id": client["id"], "due_at": due_at}
        assert (await crm.http.post("/tasks", json=body, headers=who.headers)).status_code == 201


async def test_a_name_that_only_looks_filled_in_is_a_422(crm: Crm) -> None:
    who = await sign_up(crm.http)
    for name in ["\u200b", "\u200b\u200b\u200b", " \u2060 \ufeff ", "\u00a0\u3000", "\u200d\u0301"]:
        body = {"name": name, "email": "ghost@example.org"}
        response = await crm.http.post("/clients", json=body, headers=who.headers)
        assert response.status_code == 422, response.text
        assert "name" in response.json()["detail"]
        tagged = {"name": "Real Name", "email": "ghost@example.org", "tags": [name]}
        tag_response = await crm.http.post("/clients", json=tagged, headers=who.headers)
        assert tag_response.status_code == 422
