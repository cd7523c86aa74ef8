"""Import through the web app: the columns of a file are suggested, a small file's report
comes at once, a large one's progress can be followed until its report."""

from __future__ import annotations

import re

from tests.support.waiting import eventually
from tests.web.support import WebClient, csrf_of

HEADER = "Full Name,E-mail,Mobile,Lead Status,Misc\n"


async def test_the_columns_of_a_file_are_suggested(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = await web.http.get("/app/import")
    answer = await web.http.post(
        "/app/import/columns",
        files={"file": ("crm.csv", HEADER + "Ana Ortiz,ana@example.com,555 0101,Hot,x\n")},
        headers={"x-csrf-token": csrf_of(form.text)},
    )
    assert answer.status_code == 200
    assert answer.json()["mapping"] == {
        "Full Name": "name",
        "E-mail": "email",
        "Mobile": "phone",
        "Lead Status": "stage",
        "Misc": "ignore",
    }


async def test_a_large_import_reports_its_progress_then_its_report(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    rows = "".join(f"Client {n},client{n}@example.com,555 01{n:04d},Lead,\n" for n in range(1500))
    form = await web.http.get("/app/import")
    started = await web.http.post(
        "/app/import",
        data={"csrf": csrf_of(form.text), "map:Misc": "ignore"},
        files={"file": ("big.csv", HEADER + rows + "No Email,,,Lead,\n")},
    )
    assert started.status_code == 303, started.text
    report_url = started.headers["location"]
    assert re.fullmatch(r"/app/import/[0-9a-f-]{36}", report_url)

    async def finished() -> dict[str, object] | None:
        state: dict[str, object] = (await web.http.get(f"{report_url}/state")).json()
        return state if state["status"] in ("completed", "failed") else None

    state: dict[str, object] = await eventually(
        finished, timeout=60, interval=0.2, what="import finished"
    )
    assert state == {"status": "completed", "processed": 1501, "total": 1501}
    report = await web.http.get(report_url)
    assert '<b id="imported-count">1500</b> imported' in report.text
    assert "no email address or phone" in report.text


async def test_a_file_that_is_not_csv_is_explained(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = await web.http.get("/app/import")
    refused = await web.http.post(
        "/app/import",
        data={"csrf": csrf_of(form.text)},
        files={"file": ("photo.csv", b"just one line without any email column\n")},
    )
    assert refused.status_code == 422
    assert "The file was not imported:" in refused.text
