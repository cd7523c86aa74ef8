"""CSV import (the headers of other CRMs' exports, a report per row, duplicates, a second
import of the same file changes nothing, progress of a background import) and the CSV
export of the filtered list."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.crm.helpers import Crm, SignedIn, add_client, sign_up
from tests.support.waiting import eventually

FOLLOW_UP_BOSS = (
    "First Name,Last Name,Email 1,Phone 1,Address,Stage,Tags,Source,Price Range\r\n"
    "Jordan,Lee,jordan@example.com,(555) 010-0142,12 Elm St,Hot,"
    '"buyer, first-home",Zillow,400-500k\r\n'
    "Sam,NoEmail,,555 0100,,Lead,,,\r\n"
    "Jo,Lee,JORDAN@example.com ,,,,,,\r\n"
    "Ana,Bad,not-an-email,,,,,,\r\n"
    "Kim,Park,kim@example.com,555-010-0142,,Past Client,,Open house,\r\n"
)


async def _import(
    crm: Crm, who: SignedIn, content: str, name: str = "export.csv", **form: Any
) -> Any:
    files = {"file": (name, content.encode(), "text/csv")}
    return await crm.http.post("/clients/import", files=files, data=form, headers=who.headers)


async def test_import_a_follow_up_boss_export_with_a_report(crm: Crm) -> None:
    who = await sign_up(crm.http)
    existing = await add_client(crm.http, who, email="kim@example.com")
    response = await _import(crm, who, FOLLOW_UP_BOSS)
    assert response.status_code == 201, response.text
    job = response.json()
    assert response.headers["Location"] == f"/clients/imports/{job['id']}"
    assert job["status"] == "completed"
    assert (job["total"], job["processed"], job["imported"], job["skipped"]) == (5, 5, 2, 3)
    assert job["mapping"]["First Name"] == "first_name"
    assert job["mapping"]["Email 1"] == "email"
    reasons = {e["row"]: e["reason"] for e in job["report"]["skipped"]}
    assert 3 not in reasons  # Sam has a phone and no email: a phone-only lead
    assert reasons[4].startswith("same email address as row")
    assert reasons[5].startswith("the email address is not valid (")
    assert reasons[6] == "already a client (same email address)"  # kim was
    duplicates = {(d["row"], d["matched_on"]) for d in job["report"]["duplicates"]}
    assert duplicates == {(4, "email"), (6, "email")}
    assert job["report"]["duplicates"][-1]["client_id"] == existing["id"]

    listed = (await crm.http.get("/clients", params={"q": "jordan"}, headers=who.headers)).json()
    assert len(listed) == 1
    jordan = listed[0]
    assert jordan["name"] == "Jordan Lee"
    assert (jordan["stage"], jordan["source"]) == ("prospect", "Zillow")
    assert jordan["tags"] == ["buyer", "first-home"]
    assert jordan["custom_fields"] == {"Price Range": "400-500k"}
    timeline = await crm.http.get(f"/clients/{jordan['id']}/timeline", headers=who.headers)
    assert timeline.json()[0]["summary"] == "Imported from export.csv as a prospect"

    again = (await _import(crm, who, FOLLOW_UP_BOSS)).json()
    assert (again["imported"], again["skipped"]) == (0, 5)  # the same file twice: no change
    assert len((await crm.http.get("/clients", headers=who.headers)).json()) == 3

    read = await crm.http.get(f"/clients/imports/{job['id']}", headers=who.headers)
    assert read.json() == job
    stranger = await sign_up(crm.http)
    assert (
        await crm.http.get(f"/clients/imports/{job['id']}", headers=stranger.headers)
    ).status_code == 404


async def test_explicit_mapping_and_bad_files(crm: Crm) -> None:
    who = await sign_up(crm.http)
    content = "Who,E-post,Junk\r\nLena,lena@example.com,x\r\n"
    unmapped = await _import(crm, who, content)
    assert unmapped.status_code == 422
    assert "no email or phone column" in unmapped.json()["detail"]
    mapping = json.dumps({"Who": "name", "E-post": "email", "Junk": "ignore"})
    mapped = await _import(crm, who, content, mapping=mapping)
    assert mapped.json()["imported"] == 1
    lena = (await crm.http.get("/clients", headers=who.headers)).json()[0]
    assert (lena["name"], lena["custom_fields"]) == ("Lena", {})

    for bad_mapping in ("{", json.dumps({"Who": "favourite_colour"}), json.dumps({"Nope": "name"})):
        response = await _import(crm, who, content, mapping=bad_mapping)
        assert response.status_code == 422, response.text
    assert (await _import(crm, who, "")).status_code == 422
    assert (await _import(crm, who, "\x00\x01\x02")).status_code == 422


async def test_a_large_import_runs_in_the_background_with_progress(crm: Crm) -> None:
    # The import itself, not what the follow-up plans do with 5,000 new leads.
    crm.state.stage_hooks = []
    who = await sign_up(crm.http)
    rows = ["Name,Email,Phone"] + [f"Client {i},c{i}@example.com,555{i:07d}" for i in range(5000)]
    response = await _import(crm, who, "\r\n".join(rows) + "\r\n", name="kvcore.csv")
    assert response.status_code == 202, response.text
    assert response.json()["total"] == 5000

    async def done() -> dict[str, Any] | None:
        job = (await crm.http.get(response.headers["Location"], headers=who.headers)).json()
        assert 0 <= job["processed"] <= job["total"]
        return job if job["status"] == "completed" else None

    job: dict[str, Any] = await eventually(done, timeout=60, what="the import to complete")
    assert (job["processed"], job["imported"], job["skipped"]) == (5000, 5000, 0)
    page = await crm.http.get("/clients", params={"q": "c4999@"}, headers=who.headers)
    assert [c["name"] for c in page.json()] == ["Client 4999"]


async def test_export_streams_the_filtered_list_as_csv(crm: Crm) -> None:
    who = await sign_up(crm.http)
    await add_client(crm.http, who, name="=HYPERLINK(1)", stage="prospect", phone="+1 555 0100")
    await add_client(crm.http, who, name="Lead Only", stage="lead")
    await add_client(crm.http, await sign_up(crm.http), name="Not Mine", stage="prospect")
    response = await crm.http.get(
        "/clients/export.csv", params={"stage": "prospect"}, headers=who.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["name"], r["phone"]) for r in rows] == [("'=HYPERLINK(1)", "+1 555 0100")]

    everything = await crm.http.get("/clients/export.csv", headers=who.headers)
    other = await sign_up(crm.http)
    back = await _import(crm, other, everything.text)  # an export imports as it is
    assert back.json()["imported"] == 2
