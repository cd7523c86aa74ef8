"""The working day in headless Chromium, at a laptop's and a phone's size: typed custom
fields, a phone-only lead, a logged call that pauses a plan, one-off tasks from the client
page and the task list (reminded on the dashboard, logged and completed from the task),
a saved list in the navigation with its bulk change and export, and an email template
previewed with a real client's data (and caught when a field is missing)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.web.system import System
from tests.web.test_agent_day import midday_zone, sign_up_and_choose_approval
from tests.web.test_on_a_phone import UNLABELLED

LAPTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


async def fits(page: Page) -> None:
    """Nothing scrolls sideways and every control has a label (on a phone as on a laptop)."""
    await expect(page.locator("h1")).to_be_visible()
    width = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls sideways: {width}"
    assert await page.evaluate(UNLABELLED) == [], page.url


async def flash(page: Page, text: str) -> None:
    await expect(page.locator(".flash")).to_contain_text(text)


async def define_fields(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/fields")
    for label, key, kind in (("Birthday", "birthday", "date"), ("Budget", "budget", "number")):
        await page.get_by_label("Label").fill(label)
        await page.get_by_label("Key").fill(key)
        await page.get_by_label("Type").select_option(kind)
        await page.get_by_role("button", name="Add field").click()
        await flash(page, f"Field “{label}” added.")
    await fits(page)


async def add_phone_only_lead(page: Page, url: str, name: str, **fields: str) -> None:
    await page.goto(f"{url}/app/clients/new")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Phone").fill(fields.get("phone", "555 010 0142"))
    if "birthday" in fields:
        await page.get_by_label("Birthday").fill(fields["birthday"])
    await page.get_by_label("Budget").fill(fields.get("budget", "300000"))
    await page.get_by_label("Property address").fill("12 Elm St, Salem")
    await fits(page)
    await page.get_by_role("button", name="Add client").click()
    await flash(page, f"{name} added.")
    await expect(page.locator("dl.facts")).to_contain_text("phone only")


async def pause_on_calls(page: Page, url: str) -> None:
    """The standard plan pauses on a logged conversation of 3 minutes or more."""
    await page.goto(f"{url}/app/plans")
    await page.locator(".cards-list a").first.click()
    await page.get_by_label("Pause when a conversation of at least … minutes is logged").fill("3")
    await page.get_by_role("button", name="Save plan").click()
    await flash(page, "Plan saved.")


async def log_a_call_and_add_a_task(page: Page, due: str) -> None:
    await page.get_by_label("Plan", exact=True).select_option(index=0)
    await page.get_by_role("button", name="Apply plan").click()
    await flash(page, "applied")
    form = page.locator("form.log-activity")
    await form.get_by_label("Call outcome").select_option("connected")
    await form.get_by_label("Minutes").fill("5")
    await form.get_by_label("Notes").fill("Wants to see Elm St on Saturday")
    await form.get_by_role("button", name="Log it").click()
    await flash(page, "Call logged. Paused:")
    await expect(page.locator(".timeline")).to_contain_text(
        "Call (connected, 5 min): Wants to see Elm St on Saturday"
    )
    await expect(page.locator(".timeline")).to_contain_text("a 5-minute call was logged")
    task = page.locator("form.new-task")
    await task.get_by_label("What").fill("Call Jordan about Saturday")
    await task.get_by_label("Due").fill(due)
    await task.get_by_role("button", name="Add task").click()
    await flash(page, "Task “Call Jordan about Saturday” added.")
    await fits(page)


async def work_the_task(page: Page, url: str) -> None:
    await page.goto(f"{url}/app")
    today = page.locator("section", has=page.get_by_role("heading", name="Needs you today"))
    await expect(today).to_contain_text("Call Jordan about Saturday")
    await fits(page)
    await page.get_by_role("link", name="Call Jordan about Saturday").first.click()
    form = page.locator("form.log-activity")
    await form.get_by_label("Call outcome").select_option("left_voicemail")
    await form.get_by_role("button", name="Log it").click()
    await flash(page, "Task completed.")
    await expect(page.locator("dl.facts")).to_contain_text("done")
    await page.goto(f"{url}/app/tasks")
    other = page.locator("form.new-task")
    await other.get_by_label("Client", exact=True).select_option(label="Sam Park")
    await other.get_by_label("What").fill("Send the disclosure packet")
    await other.get_by_label("Type").select_option("custom")
    await other.get_by_label("Due").fill("2031-05-06T09:30")
    await other.get_by_role("button", name="Add task").click()
    await flash(page, "Task “Send the disclosure packet” added.")
    await fits(page)


async def save_a_list(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/clients?field=budget%3E%3D400000")
    await expect(page.locator("table.clients")).to_contain_text("Jordan Lee")
    await expect(page.locator("table.clients")).not_to_contain_text("Sam Park")
    await page.get_by_label("Save these filters as a list").fill("Big budgets")
    await page.get_by_role("button", name="Save list").click()
    await flash(page, "List “Big budgets” saved.")
    await page.goto(f"{url}/app/tasks")
    await (
        page.get_by_role("navigation", name="Saved lists")
        .get_by_role("link", name="Big budgets")
        .click()
    )
    await expect(page.get_by_role("heading", name="Big budgets")).to_be_visible()
    await page.get_by_label("Add tags to all").fill("vip")
    await page.get_by_role("button", name="Apply to every client in the list").click()
    await flash(page, "1 client(s) in “Big budgets” changed.")
    export = page.get_by_role("link", name="Export as CSV")
    csv = await page.evaluate(
        "(href) => fetch(href).then((r) => r.text())", await export.get_attribute("href")
    )
    assert "Jordan Lee" in csv
    assert "Sam Park" not in csv
    await fits(page)


async def preview_a_template(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/templates")
    await page.get_by_label("Name").fill("Birthday")
    await page.get_by_label("Subject").fill("Happy birthday, {{first_name}}!")
    await page.get_by_label("Body").fill("Hi {{first_name}},\nBorn {{birthday}}.\n{{agent_name}}")
    await page.get_by_role("button", name="Save template").click()
    await flash(page, "Template “Birthday” saved.")
    await page.get_by_label("Client", exact=True).select_option(label="Jordan Lee")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.locator("#preview-subject")).to_have_text("Happy birthday, Jordan!")
    await expect(page.locator("#preview-body")).to_contain_text("Born 1985-03-14.")
    await page.get_by_label("Client", exact=True).select_option(label="Sam Park")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("alert")).to_contain_text("no value for {{birthday}}")
    await fits(page)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_a_working_day(crm_process: System, browser: Browser, viewport: ViewportSize) -> None:
    page = await browser.new_page(viewport=viewport)
    url = crm_process.url
    try:
        await sign_up_and_choose_approval(page, url)
        local_today = datetime.now(ZoneInfo(midday_zone())).date()
        await define_fields(page, url)
        await add_phone_only_lead(page, url, "Sam Park", phone="555 010 0199")
        await add_phone_only_lead(page, url, "Jordan Lee", birthday="1985-03-14", budget="450000")
        await pause_on_calls(page, url)
        await page.goto(f"{url}/app/clients?q=jordan")
        await page.get_by_role("link", name="Jordan Lee").click()
        await log_a_call_and_add_a_task(page, f"{local_today.isoformat()}T23:00")
        await work_the_task(page, url)
        await save_a_list(page, url)
        await preview_a_template(page, url)
        await expect(page).to_have_url(re.compile(r"/app/templates/"))
    except Exception:
        print(crm_process.logs())
        raise
    finally:
        await page.close()
