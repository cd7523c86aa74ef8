"""An agent's day in a real browser (headless Chromium) against the whole system running as
processes: sign up, set approval mode, import a CSV, make a plan and apply it, watch the
draft appear without reloading, edit and approve it, see it sent, read the client's
timeline, reschedule a task, and find it all on the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.web.support import PASSWORD
from tests.web.system import System

CSV = (
    "First Name,Last Name,Email 1,Phone 1,Stage,Tags\n"
    'Ana,Ortiz,ana.ortiz@example.com,555 0101,Hot,"seller, vip"\n'
    "Bo,Chen,,,Lead,\n"
    "Cy,Park,cy.park@example.org,555 0103,Lead,buyer\n"
)
EDITED = "Hi Ana,\n\nThe comps for Elm St are in: shall we walk through them on Thursday?\n\nDana"


def midday_zone() -> str:
    """A zone where it is around noon now: plan steps at 00:00 today are then due, and now
    is well inside a 00:00-23:59 sending window (no flakiness at midnight)."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # hours east of UTC, -12..11
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


async def sign_up_and_choose_approval(page: Page, url: str) -> None:
    await page.goto(f"{url}/app")
    await expect(page).to_have_url(re.compile(r"/app/login"))
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Your name").fill("Dana Ruiz")
    await page.get_by_label("Email address").fill("dana@harbor.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Profile and settings")).to_be_visible()
    await page.get_by_label("Time zone").fill(midday_zone())
    for day in ("Sat", "Sun"):
        await page.get_by_label(day, exact=True).check()
    await page.get_by_label("From").fill("00:00")
    await page.get_by_label("Until").fill("23:59")
    await page.get_by_label("Approval: every draft waits for me").check()
    await page.get_by_label("Signature").fill("Dana Ruiz\nHarbor Realty")
    await page.get_by_label("Postal address (shown in emails)").fill("1 Harbor Way, Salem")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_have_text("Settings saved.")


async def import_csv(page: Page, url: str, tmp: Path) -> None:
    path = tmp / "follow-up-boss.csv"
    path.write_text(CSV)
    await page.goto(f"{url}/app/import")
    await page.get_by_label("CSV file").set_input_files(path)
    await expect(page.get_by_label("Email 1")).to_have_value("email")  # suggested mapping
    await page.get_by_role("button", name="Import").click()
    await expect(page.locator("#imported-count")).to_have_text("2")
    await expect(page.get_by_role("cell", name="no email address or phone")).to_be_visible()


async def make_plan(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/plans")
    await page.get_by_label("Name").fill("Same-day check-in")
    await page.get_by_role("button", name="Create plan").click()
    for delay, action, purpose in (("0", "email", "Welcome"), ("7", "call", "Call back")):
        step = page.locator("#new-step")
        await step.get_by_label("Days after start").fill(delay)
        await step.get_by_label("At (local time)").fill("00:00")
        await step.get_by_label("Action").select_option(action)
        await step.get_by_label("Purpose").fill(purpose)
        await step.get_by_role("button", name="Add step").click()
        await expect(page.get_by_role("status")).to_have_text("Step added.")


async def approve_the_draft(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/clients?q=ortiz")
    await page.get_by_role("link", name="Ana Ortiz").click()
    await page.get_by_label("Plan", exact=True).select_option(label="Same-day check-in")
    await page.get_by_role("button", name="Apply plan").click()
    await expect(page.get_by_role("status").first).to_contain_text("applied")
    await page.get_by_role("link", name="Welcome").click()
    await page.get_by_role("link", name="Open the draft").click()
    await page.evaluate("window.__sameDocument = true")
    subject = page.get_by_label("Subject")
    await expect(subject).not_to_have_value("", timeout=30_000)  # the composer's draft
    assert await page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    await expect(page.locator("#draft-status")).to_have_text("awaiting approval")
    await page.get_by_label("Instructions for the composer").fill("mention the school district")
    await page.get_by_role("button", name="Regenerate").click()
    await expect(page.get_by_role("status").first).to_have_text(
        "The composer is rewriting the draft."
    )
    await expect(page.locator("#draft-status")).to_have_text("awaiting approval", timeout=30_000)
    await expect(page.get_by_label("Message")).not_to_have_value("")
    await page.get_by_label("Message").fill(EDITED)
    await page.get_by_role("button", name="Approve and send").click()
    await expect(page.locator("#draft-status")).to_have_text("sent", timeout=30_000)


async def reschedule_the_call(page: Page, url: str) -> None:
    await page.get_by_role("link", name="Call back").click()
    await page.get_by_label("New due date and time").fill("2031-05-06T09:30")
    await page.get_by_role("button", name="Reschedule").click()
    await expect(page.get_by_role("status")).to_have_text("Rescheduled.")
    await expect(page.locator("#task-due")).to_have_text("Tue 06 May 2031, 09:30")


async def test_an_agents_day(system: System, browser: Browser, tmp_path: Path) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    url = system.url
    try:
        await sign_up_and_choose_approval(page, url)
        await import_csv(page, url, tmp_path)
        await make_plan(page, url)
        await approve_the_draft(page, url)

        sent = list(system.outbox.glob("*.eml"))
        assert len(sent) == 1
        assert "walk through them on Thursday" in sent[0].read_text()

        await page.get_by_role("link", name="Ana Ortiz").click()
        timeline = page.locator(".timeline")
        await expect(timeline).to_contain_text("Email approved (edited)")
        await expect(timeline).to_contain_text("Email sent:")
        await expect(timeline).to_contain_text("Imported")
        await reschedule_the_call(page, url)

        await page.get_by_role("link", name="Dashboard").click()
        await expect(page.locator('[data-figure="total-clients"] .n')).to_have_text("2")
        await expect(page.locator('[data-figure="sent-today"] .n')).to_have_text("1")
        await expect(page.locator('[data-figure="pending-tasks"] .n')).to_have_text("1")
        await expect(page.locator(".feed")).to_contain_text("Email sent")
    except Exception:
        print(system.logs())
        raise
    finally:
        await page.close()
