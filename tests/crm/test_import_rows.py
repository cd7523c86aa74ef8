"""Every line of an imported file is accounted for: imported, skipped with its reason, or
a duplicate, reported by the file's own line number (doubled quotes and quoted newlines
read as one field, blank lines counted)."""

from __future__ import annotations

import json
from typing import Any

from tests.crm.helpers import Crm, SignedIn, sign_up

LONG_NAME = "N" * 360
FILE = (
    "Name,Email,Stage,Company\r\n"
    '"""Comma, Inc""",comma@example.com,Lead,"Acme, ""Intl"""\r\n'  # line 2
    "\r\n"  # line 3
    'Multi Line,multi@example.com,Lead,"line one\r\nline two"\r\n'  # lines 4-5
    f"{LONG_NAME},long@example.com,Lead,\r\n"  # line 6
    "Warm Person,warm@example.com,Warm Lead,\r\n"  # line 7
    "Dup,COMMA@example.com,,\r\n"  # line 8
)


async def _import(crm: Crm, who: SignedIn, content: str, **form: Any) -> dict[str, Any]:
    files = {"file": ("leads.csv", content.encode(), "text/csv")}
    response = await crm.http.post("/clients/import", files=files, data=form, headers=who.headers)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


async def test_every_line_is_imported_skipped_with_a_reason_or_a_duplicate(crm: Crm) -> None:
    who = await sign_up(crm.http)
    job = await _import(crm, who, FILE)

    reasons = {entry["row"]: entry["reason"] for entry in job["report"]["skipped"]}
    assert reasons[3] == "empty row"
    assert reasons[6] == "name: too long (at most 200 characters)"
    assert reasons[7].startswith("unknown stage 'Warm Lead': map it to one of lead, prospect")
    assert reasons[8] == "same email address as row 2"
    assert (job["total"], job["imported"], job["skipped"]) == (6, 2, 4)
    assert job["report"]["unknown_stages"] == {"Warm Lead": 1}

    clients = (await crm.http.get("/clients", headers=who.headers)).json()
    by_email = {c["email"]: c for c in clients}
    assert set(by_email) == {"comma@example.com", "multi@example.com"}
    assert by_email["comma@example.com"]["name"] == '"Comma, Inc"'
    assert by_email["comma@example.com"]["custom_fields"] == {"Company": 'Acme, "Intl"'}
    assert by_email["multi@example.com"]["custom_fields"] == {"Company": "line one\r\nline two"}

    mapped = await _import(crm, who, FILE, stages=json.dumps({"Warm Lead": "prospect"}))
    assert mapped["imported"] == 1
    assert mapped["report"]["unknown_stages"] == {}
    warm = (await crm.http.get("/clients", params={"q": "warm"}, headers=who.headers)).json()
    assert [(c["name"], c["stage"]) for c in warm] == [("Warm Person", "prospect")]


async def test_semicolon_and_tab_files_and_a_bad_stage_mapping(crm: Crm) -> None:
    who = await sign_up(crm.http)
    semicolons = 'Name;Email;Notes\r\n"Lee; Jo";jo@example.com;"a, b"\r\n'
    assert (await _import(crm, who, semicolons))["imported"] == 1
    tabs = "Name\tEmail\r\nAl Tab\tal@example.com\r\n"
    assert (await _import(crm, who, tabs))["imported"] == 1
    names = {c["name"] for c in (await crm.http.get("/clients", headers=who.headers)).json()}
    assert names == {"Lee; Jo", "Al Tab"}
    files = {"file": ("x.csv", FILE.encode(), "text/csv")}
    for stages in ("{", json.dumps({"Warm Lead": "tepid"})):
        response = await crm.http.post(
            "/clients/import", files=files, data={"stages": stages}, headers=who.headers
        )
        assert response.status_code == 422, response.text
        assert "stages must be" in response.json()["detail"]
