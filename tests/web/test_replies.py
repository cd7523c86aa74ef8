"""A client's reply in the browser (headless Chromium, the CRM as a process): the reply on
the client's timeline, the paused plan with its reason and the resume button, the
dashboard's replies first, the email list's "replied", and the Settings choice that
turns detection off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from realtoros_contracts import ClientReplied
from realtoros_runtime.publisher import EventPublisher
from tests.crm.helpers import SignedIn, publish_tick, sign_up
from tests.crm.test_consumers import composed, sent
from tests.support.waiting import eventually
from tests.web.support import sign_in
from tests.web.system import System

STEPS = [{"delay_days": d, "purpose": f"Step {d}"} for d in (2, 4)]
REPLY = "Thursday at 4 works for me.\nCould we also see the garden?"


async def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def signed_in(http: httpx.AsyncClient, **fields: Any) -> SignedIn:
    """An agent registered through the API (no brokerage), ``http`` signed in as them."""
    who = await sign_up(http, brokerage=None, **fields)
    http.headers.update(who.headers)
    return who


async def _claimed_task(
    http: httpx.AsyncClient, publisher: EventPublisher, client_id: str
) -> dict[str, Any]:
    """A follow-up task for the client due now, claimed by the next tick (composing)."""
    due = datetime.now(UTC).isoformat()
    task = await ok(await http.post("/tasks", json={"client_id": client_id, "due_at": due}))
    await publish_tick(publisher)
    return await _task_in(http, task["id"], "composing")


async def a_replied_client(http: httpx.AsyncClient, publisher: EventPublisher) -> None:
    """Through the API and the events other services publish: an email sent, then the reply."""
    who = await signed_in(
        http, email="dana@harbor.example", name="Dana Ruiz", signature=None, postal_address=None
    )
    client = await ok(
        await http.post("/clients", json={"name": "Jordan Lee", "email": "jordan@example.org"})
    )
    plan = await ok(await http.post("/plans", json={"name": "Nurture", "steps": STEPS}))
    await ok(await http.post(f"/clients/{client['id']}/plans", json={"plan_id": plan["id"]}))
    task = await _claimed_task(http, publisher, client["id"])
    await publisher.publish(composed(task, who), event_id=str(uuid.uuid4()))
    await _task_in(http, task["id"], "sending")
    await publisher.publish(sent(task, who, datetime.now(UTC)), event_id=str(uuid.uuid4()))
    task = await _task_in(http, task["id"], "sent")
    reply = ClientReplied(
        email_id=task["email"]["id"],
        matched_by="reply-address",
        from_email="jordan@example.org",
        subject="Re: Checking in",
        text=REPLY,
        received_at=datetime.now(UTC),
    )
    await publisher.publish(reply, event_id=f"reply:{uuid.uuid4().hex}")
    recorded: list[Any] = await eventually(
        lambda: _replies(http), timeout=60, interval=0.2, what="the reply recorded"
    )
    assert recorded[0]["text"] == REPLY


async def _task_in(http: httpx.AsyncClient, task_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        task: dict[str, Any] = await ok(await http.get(f"/tasks/{task_id}"))
        return task if task["status"] == status else None

    found: dict[str, Any] = await eventually(probe, timeout=60, interval=0.2, what=status)
    return found


async def _replies(http: httpx.AsyncClient) -> list[Any] | None:
    found: list[Any] = await ok(await http.get("/replies?unanswered=true"))
    return found or None


async def test_the_reply_the_paused_plan_resume_and_the_dashboard_in_chromium(
    crm_process: System, publisher: EventPublisher, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=crm_process.url, timeout=30) as http:
        await a_replied_client(http, publisher)
    page = await browser.new_page()
    await sign_in(page, crm_process.url)
    replies = page.get_by_test_id("dashboard-replies")
    await expect(replies).to_contain_text("Jordan Lee")
    await expect(replies).to_contain_text("Thursday at 4 works for me.")
    await page.get_by_role("link", name="Jordan Lee").first.click()
    await expect(page.get_by_test_id("timeline-reply")).to_contain_text(
        "Could we also see the garden?"
    )
    await expect(page.get_by_test_id("pause-reason")).to_contain_text("client replied")
    await page.get_by_role("button", name="Resume plan").click()
    await expect(page.get_by_role("button", name="Pause plan")).to_be_visible()
    await expect(page.get_by_test_id("pause-reason")).to_have_count(0)
    await page.goto(f"{crm_process.url}/app/emails")
    await expect(page.locator(".status.s-replied")).to_have_count(1)
    await page.goto(f"{crm_process.url}/app")
    await page.get_by_role("button", name="Mark answered").click()
    await expect(page.get_by_text("No reply waiting for you.")).to_be_visible()
    await page.goto(f"{crm_process.url}/app/settings")
    await page.get_by_label("Straight to my address").check()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_test_id("replies-not-detected")).to_contain_text("no longer detected")


async def a_held_draft(http: httpx.AsyncClient, publisher: EventPublisher) -> str:
    """A draft awaiting approval, then the client's reply: the draft is held. Its task id."""
    who = await signed_in(
        http,
        email="eli@harbor.example",
        name="Eli Stone",
        signature="Eli Stone\nHarbor Homes",
        postal_address="1 Harbor Way, Portland",
    )
    client = await ok(
        await http.post("/clients", json={"name": "Sam Park", "email": "sam@example.org"})
    )
    task = await _claimed_task(http, publisher, client["id"])
    draft = composed(task, who, send_mode="approval")
    await publisher.publish(draft, event_id=str(uuid.uuid4()))
    task = await _task_in(http, task["id"], "awaiting_approval")
    reply = ClientReplied(
        email_id=task["email"]["id"],
        matched_by="reply-address",
        from_email="sam@example.org",
        subject="Re: Checking in",
        text="We found a place, thanks!",
        received_at=datetime.now(UTC),
    )
    await publisher.publish(reply, event_id=f"reply:{uuid.uuid4().hex}")

    async def held() -> dict[str, Any] | None:
        email: dict[str, Any] = await ok(await http.get(f"/tasks/{task['id']}/draft"))
        return email if email["held_at"] else None

    email: dict[str, Any] = await eventually(held, timeout=60, interval=0.2, what="held")
    assert email["status"] == "awaiting_approval"
    return str(task["id"])


async def test_a_held_draft_warns_and_is_sent_only_when_confirmed_in_chromium(
    crm_process: System, publisher: EventPublisher, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=crm_process.url, timeout=30) as http:
        task_id = await a_held_draft(http, publisher)
    page = await browser.new_page()
    await sign_in(page, crm_process.url, "eli@harbor.example", "Eli Stone")
    await page.goto(f"{crm_process.url}/app/drafts/{task_id}")
    warning = page.locator("#held-warning")
    await expect(warning).to_contain_text("Sam Park replied on")
    await expect(warning).to_contain_text("resume the plan, or send this anyway")
    await page.get_by_role("button", name="Send anyway").click()  # not confirmed
    await expect(page.get_by_text("Not sent: the client replied on")).to_be_visible()
    await expect(page.locator("#draft-status")).to_have_text("awaiting approval")
    await page.get_by_label("Send it anyway: I have read the client's reply").check()
    await page.get_by_role("button", name="Send anyway").click()
    await expect(page.get_by_text("Approved: sending now.")).to_be_visible()
    await expect(page.locator("#draft-status")).to_have_text("sending")
