"""Forms: bad input is explained on the page (never a 500), unsubscribed clients are shown
and respected, plans' steps are edited, tasks are rescheduled in bulk."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.support import WebClient, csrf_of


@pytest.mark.parametrize(
    "path",
    [
        "/app/clients?sort=bogus&order=sideways",
        "/app/clients?cursor=not-a-cursor",
        "/app/clients?stage=nonsense",
        "/app/tasks?client_id=zzz&status=bogus",
        "/app/tasks/calendar?start=yesterday",
        "/app/emails?offset=abc&status=bogus",
        "/app/clients/00000000-0000-0000-0000-000000000000",
        "/app/drafts/00000000-0000-0000-0000-000000000000",
        "/app/emails/00000000-0000-0000-0000-000000000000",
    ],
)
async def test_odd_addresses_never_break_a_page(web: WebClient, path: str) -> None:
    await web.sign_up("dana@harbor.example")
    response = await web.http.get(path)
    assert response.status_code in (200, 400, 404), response.text[-1500:]
    assert "<h1>" in response.text


async def test_settings_explain_what_is_wrong(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    form = {
        "name": "Dana Ruiz",
        "email": "dana@harbor.example",
        "timezone": "Mars/Olympus_Mons",
        "sending_days": ["1", "2"],
        "sending_start": "09:00",
        "sending_end": "17:00",
        "send_mode": "approval",
    }
    bad_zone = await web.submit("/app/settings", "/app/settings", form)
    assert bad_zone.status_code == 422
    assert "is not a time zone we know: choose one from the list" in bad_zone.text
    backwards = {**form, "timezone": "America/New_York", "sending_start": "18:00"}
    bad_window = await web.submit("/app/settings", "/app/settings", backwards)
    assert bad_window.status_code == 422
    assert "sending start must be before sending end" in bad_window.text
    saved = await web.submit(
        "/app/settings", "/app/settings", {**backwards, "sending_start": "08:00"}
    )
    assert saved.status_code == 303
    page = await web.http.get("/app/settings")
    assert 'value="America/New_York"' in page.text
    assert 'value="approval" checked' in page.text


async def test_an_unsubscribed_client_is_shown_and_gets_no_draft(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    created = await web.add_client(
        {"name": "Jordan Lee", "email": "jordan@example.com", "custom_fields": "budget: 450000"}
    )
    client = created.headers["location"]
    edit = {"name": "Jordan Lee", "email": "jordan@example.com", "stage": "prospect"}
    saved = await web.submit(f"{client}/edit", f"{client}/edit", {**edit, "unsubscribed": "on"})
    assert saved.status_code == 303
    page = await web.http.get(client)
    assert "Unsubscribed: no follow-up email will be drafted or sent" in page.text
    assert "budget" not in page.text  # custom fields cleared: the edit form sent none
    refused = await web.submit(client, f"{client}/draft", {"instructions": "say hi"})
    assert refused.headers["location"] == client
    after = await web.http.get(client)
    assert "No email can be drafted" in after.text
    assert "Marked unsubscribed by the agent." in after.text
    listed = await web.http.get("/app/clients?unsubscribed=true")
    assert "Jordan Lee" in listed.text


async def test_custom_fields_are_kept_and_bad_ones_explained(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    bad = await web.add_client(
        {"name": "Ana", "email": "ana@example.com", "custom_fields": "just words"}
    )
    assert bad.status_code == 422
    assert "needs &#39;name: value&#39;" in bad.text
    created = await web.add_client(
        {"name": "Ana", "email": "ana@example.com", "custom_fields": "budget: 450000\nbeds: 3"}
    )
    page = await web.http.get(created.headers["location"])
    assert "<dt>budget</dt><dd>450000</dd>" in page.text
    assert "<dt>beds</dt><dd>3</dd>" in page.text


async def test_a_plan_step_is_edited_and_removed(web: WebClient) -> None:
    await web.sign_up("dana@harbor.example")
    created = await web.submit("/app/plans", "/app/plans", {"name": "Buyers"})
    plan = created.headers["location"]
    step = {"delay_days": "2", "time_of_day": "09:00", "action": "call", "purpose": "Intro call"}
    assert (
        await web.submit(plan, f"{plan}/steps", {**step, "priority": "high"})
    ).status_code == 303
    page = await web.http.get(plan)
    step_url = re.search(rf'action="({plan}/steps/[0-9a-f-]{{36}})"', page.text)
    assert step_url is not None
    changed = {**step, "delay_days": "4", "purpose": "Second call", "priority": "low"}
    assert (await web.submit(plan, step_url.group(1), changed)).status_code == 303
    page = await web.http.get(plan)
    assert 'value="Second call"' in page.text
    assert 'value="4"' in page.text
    second = {**step, "purpose": "Week 1 email", "action": "email", "delay_days": "7"}
    assert (await web.submit(plan, f"{plan}/steps", second)).status_code == 303
    moved = await web.submit(plan, step_url.group(1), {**changed, "position": "2"})
    assert moved.status_code == 303
    page = await web.http.get(plan)
    assert page.text.index('value="Week 1 email"') < page.text.index('value="Second call"')
    removed = await web.submit(plan, step_url.group(1), {**changed, "action": "delete"})
    assert removed.status_code == 303
    page = await web.http.get(plan)
    assert "Second call" not in page.text
    assert 'value="Week 1 email"' in page.text


async def bo_on_the_standard_plan(web: WebClient) -> tuple[str, httpx.Response]:
    """Dana signed up, her client Bo Chen put on the Standard follow-up (303 asserted by the
    caller that needs it); Bo's page and the answer to the plan form."""
    await web.sign_up("dana@harbor.example")
    created = await web.add_client({"name": "Bo Chen", "email": "bo@example.com"})
    client = created.headers["location"]
    page = await web.http.get(client)
    plan_id = re.search(r'<option value="([0-9a-f-]{36})">Standard follow-up', page.text)
    assert plan_id is not None
    applied = await web.http.post(
        f"{client}/plans", data={"csrf": csrf_of(page.text), "plan_id": plan_id.group(1)}
    )
    return client, applied


async def test_tasks_are_rescheduled_in_bulk(web: WebClient) -> None:
    _, applied = await bo_on_the_standard_plan(web)
    assert applied.status_code == 303
    tasks = await web.http.get("/app/tasks")
    ids = re.findall(r'name="ids" value="([0-9a-f-]{36})"', tasks.text)
    assert len(ids) == 5
    moved = await web.http.post(
        "/app/tasks/bulk",
        data={
            "csrf": csrf_of(tasks.text),
            "ids": ids[:2],
            "action": "reschedule",
            "due_at": "2031-01-15T08:15",
        },
    )
    assert moved.status_code == 303
    listing = await web.http.get("/app/tasks")
    assert "2 tasks updated." in listing.text
    assert listing.text.count("Wed 15 Jan 2031, 08:15") == 2


async def test_a_clients_plan_is_paused_resumed_and_cancelled(web: WebClient) -> None:
    client, _ = await bo_on_the_standard_plan(web)
    for action, status in (("pause", "paused"), ("resume", "active"), ("cancel", "cancelled")):
        page = await web.http.get(client)
        run = re.search(rf'action="({client}/runs/[0-9a-f-]{{36}})/{action}"', page.text)
        assert run is not None, action
        done = await web.http.post(f"{run.group(1)}/{action}", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 303
        after = await web.http.get(client)
        assert f'<span class="status s-{status}">{status}</span>' in after.text, action
