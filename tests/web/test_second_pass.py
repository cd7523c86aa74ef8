"""The web app's second pass (issue 20), in Chromium at phone and laptop sizes on the demo
account: layouts that fit, errors that look and read like errors, the email preview, the
CAN-SPAM hold, overdue tasks, friendly time zones, the favicon and a demo that re-runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.web.support import PASSWORD, sign_in
from tests.web.system import System
from tests.web.test_on_a_phone import PAGES, PHONE, run_demo

LAPTOP: ViewportSize = {"width": 1280, "height": 800}

# Anything wider than the viewport (outside the scrollers meant to scroll: the phone nav
# and a laptop table's wrapper), and any table cell narrower than its longest word (the
# "Zoe Pat el" / "19:2 / 9" breakage: a word laid out on two lines; a line may still end
# after a hyphen or a slash, as in "@-sign").
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('[hidden], .sr-only, datalist, .table-wrap, nav')) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      problems.push(`wider: ${el.tagName}.${el.className} ${Math.round(box.right)} > ${width}`);
    }
  }
  const range = document.createRange();
  for (const cell of document.querySelectorAll('td, th')) {
    if (cell.offsetParent === null || cell.closest('[hidden], .sr-only')) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /[^\\s\\/-]+/g; let m;  // a hyphen or a slash may end a line
      while ((m = re.exec(node.data))) {
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        if (range.getClientRects().length > 1) problems.push(`word broken in a cell: "${m[0]}"`);
      }
    }
  }
  return problems.slice(0, 10);
}"""


async def check_layouts(page: Page, url: str) -> None:
    for path in PAGES:
        await page.goto(f"{url}{path}")
        await expect(page.locator("h1")).to_be_visible()
        assert await page.evaluate(LAYOUT_PROBLEMS) == [], path


IMPORT = (
    "First Name,Last Name,Email 1,Phone 1,Birthday\n"
    "Ana,Ortiz,ana@example.com,555 0101,3/7/1984\n"
    "Bo,Chen,bo-at-example.com,555 0102,\n"
    "Cy,Park,ana@example.com,555 0103,\n"
    "Dee,Lu,dee@example.com,555 0101,\n"
)


async def import_with_a_birthday(page: Page, url: str, tmp_path: Path) -> None:
    path = tmp_path / "fub.csv"
    path.write_text(IMPORT)
    await page.goto(f"{url}/app/import")
    await page.get_by_label("CSV file").set_input_files(path)
    await expect(page.get_by_label("Birthday")).to_have_value("birthday")
    await page.get_by_role("button", name="Import").click()
    await expect(page.locator("#imported-count")).to_have_text("2")
    skipped = page.locator("table tbody")
    await expect(skipped).to_contain_text(
        "the email address is not valid (an email address must have an @-sign)"
    )
    await expect(skipped).to_contain_text("same email address as row 2")
    report = page.locator("#rep-h + p")
    await expect(report).to_contain_text("1 imported client may be a duplicate (same phone)")
    await expect(page.locator("body")).not_to_contain_text("(imported)")
    assert await page.evaluate(LAYOUT_PROBLEMS) == []
    await page.goto(f"{url}/app/clients?q=ortiz")
    await page.get_by_role("link", name="Ana Ortiz").click()
    await expect(page.locator("main")).to_contain_text("1984-03-07")


async def tables_and_the_chart(page: Page, url: str, phone: bool) -> None:
    """Tables become cards on a phone (and stay tables on a laptop), overdue tasks are
    marked, the navigation is compact, the chart has a y-axis with readable labels."""
    if phone:
        header = await page.locator("header.top").bounding_box()
        assert header is not None
        assert header["height"] <= 90, header
    await page.goto(f"{url}/app/tasks")
    row = page.locator("table.stack tbody tr").first
    shown_as = await row.evaluate("el => getComputedStyle(el).display")
    assert shown_as == ("block" if phone else "table-row"), shown_as  # a card on a phone
    await expect(page.locator("tr.overdue .s-overdue").first).to_have_text("overdue")
    await page.goto(f"{url}/app")
    assert await page.locator(".chart .y-axis span").count() >= 2  # a y-axis with a scale
    label = page.locator(".chart .y-axis span").first
    size = await label.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 11, size


async def a_sent_email_and_a_bounce(page: Page, url: str) -> None:
    """A sent email's draft page offers nothing to do; the demo tells what it is; counts
    and bounces read as an agent says them (the hard bounce's status in words, not the
    SMTP reply nor "Unsubscribed")."""
    await page.goto(f"{url}/app/tasks?status=sent")
    await page.locator("table.stack td.title a").first.click()
    task_page = page.url
    await page.get_by_role("link", name="See the email").click()
    await expect(page.locator("#email-status")).to_contain_text("sent")
    body = page.locator("body")
    for misleading in ("gpt-4o-mini", "via ses", "time(s)"):
        await expect(body).not_to_contain_text(misleading)
    assert await page.evaluate(LAYOUT_PROBLEMS) == []
    await page.goto(task_page.replace("/app/tasks/", "/app/drafts/"))
    await expect(page.locator("#draft-status")).to_have_text("sent")
    for action in ("Approve and send", "Save changes", "Skip this follow-up"):
        await expect(page.get_by_role("button", name=action)).to_be_hidden()
    # The demo's hard bounce: in words, without the raw SMTP reply or "Unsubscribed".
    await page.goto(f"{url}/app/emails?status=failed")
    await page.locator("table td.title a").first.click()
    await expect(page.locator("#email-status")).to_contain_text("the email address does not exist")
    await expect(page.locator("#email-status")).not_to_contain_text("550")
    await expect(page.locator("#email-status")).not_to_contain_text("Unsubscribed")
    # The events say it in words first; the server's reply follows only as an aside.
    events = page.locator("ol.timeline")
    await expect(events).to_contain_text("Email bounced: the email address does not exist.")
    await expect(events).to_contain_text("Follow-up emails stopped: the address bounced")


async def an_error_in_plain_words(page: Page, url: str) -> None:
    """Rescheduling into the past: refused, as an error, in plain words; overdue marked."""
    await page.goto(f"{url}/app/tasks?status=pending&type=call")
    await page.locator("table.stack td.title a").first.click()
    await page.get_by_label("New due date and time").fill("2020-01-01T09:00")
    await page.get_by_role("button", name="Reschedule").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("can't be moved into the past")
    await expect(alert).not_to_contain_text("pending")  # no internal status names
    colour = await alert.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(253, 236, 234)", colour  # the error banner, not the green one
    await expect(page.locator("#task-due .s-overdue")).to_have_text("overdue")
    assert await page.evaluate(LAYOUT_PROBLEMS) == []


async def the_preview_is_the_email(page: Page, url: str) -> None:
    """Signature, postal address, footer and recipient; a draft that signs off itself is
    not signed twice."""
    await page.goto(f"{url}/app/drafts")
    await page.locator(".cards-list a").first.click()
    await page.get_by_label("Message").fill("Hi,\n\nShall we meet on Friday?\n\nBest, Dana")
    await page.get_by_role("button", name="Save changes").click()
    final = page.locator("#final-text")
    await expect(final).to_contain_text("Best, Dana\n\n-- \nHarbor Realty · +1 555 0100")
    await expect(final).to_contain_text("1 Harbor Way, Salem, MA 01970")
    await expect(final).to_contain_text("Unsubscribe: ")
    assert "Dana Ruiz" not in await final.inner_text()
    await expect(page.locator("#final-to")).to_contain_text("@example.")
    assert await page.evaluate(LAYOUT_PROBLEMS) == []


async def settings_window_and_postal_address(page: Page, url: str) -> None:
    """A friendly time zone; a sending window from 11:00 (the plans' emails are due at
    10:00) shows "goes out …" on every pending plan email; without a postal address nothing
    is sent, and the agent is told why."""
    await page.goto(f"{url}/app/settings")
    await page.get_by_label("Postal address (shown in emails)").fill("")
    await page.get_by_label("Time zone").fill("Eastern")  # a friendly name
    await page.get_by_label("From").fill("11:00")
    await page.get_by_label("Until").fill("12:00")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_have_text("Settings saved.")
    await expect(page.get_by_label("Time zone")).to_have_value("America/New_York")

    await page.goto(f"{url}/app/tasks?status=pending&type=email")
    notes = page.locator("td .goes-out")
    assert await notes.count() >= 1
    for note in await notes.all():
        await expect(note).to_be_visible()
        await expect(note).to_have_text(re.compile(r"^goes out .+, when your sending window opens"))
    assert await page.evaluate(LAYOUT_PROBLEMS) == []
    await page.locator("table.stack td.title a").first.click()
    await expect(page.locator("#task-due .goes-out")).to_contain_text("when your sending window")

    await page.goto(f"{url}/app/drafts")
    await page.locator(".cards-list a").first.click()
    await expect(page.locator("#final-missing")).to_contain_text("a postal address")
    await page.get_by_role("button", name="Approve and send").click()
    await expect(page.get_by_role("alert")).to_contain_text("add a postal address")
    await expect(page.locator("#draft-status")).to_have_text("awaiting approval")


async def draft_now_without_an_llm(page: Page, url: str) -> None:
    """Before the draft: the client page says what a draft is without an LLM (nothing
    composed by one yet on this account: the demo's history wrote none)."""
    await page.goto(f"{url}/app/clients?stage=negotiating")
    await page.locator("table.clients a").first.click()
    await expect(page.locator("main")).to_contain_text("Added in negotiation")
    await expect(page.locator("main")).not_to_contain_text("as a negotiating")
    warning = page.locator("#llm-warning")
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text("the draft is the standard template, held for your")
    await expect(warning).to_contain_text("instructions are not applied")
    assert await page.evaluate(LAYOUT_PROBLEMS) == []
    await page.get_by_label("Draft an email now — instructions (optional)").fill(
        "invite them to Saturday's open house"
    )
    await page.get_by_role("button", name="Draft an email now").click()
    await expect(page.locator(".flash")).to_contain_text("instructions are not applied")
    await expect(page.locator("#draft-status")).to_have_text("composing")


async def plan_steps(page: Page, url: str) -> None:
    """Plan steps: one line each, reordered by buttons, edited in a disclosure."""
    await page.goto(f"{url}/app/plans")
    await page.get_by_role("link", name="Open house follow-up").click()
    steps = page.locator("ol.steps > li .step-what")
    await expect(steps.first).to_contain_text("Thanks for visiting")
    await page.get_by_role("button", name="Move step 1 down").click()
    await expect(page.get_by_role("status")).to_have_text("Step saved.")
    await expect(steps.nth(1)).to_contain_text("Thanks for visiting")
    await expect(page.get_by_label("Order")).to_have_count(0)
    assert await page.evaluate(LAYOUT_PROBLEMS) == []


async def newest_clients_first(page: Page, url: str) -> None:
    """After the import: its clients lead the list, which has phone and next-task columns."""
    await page.goto(f"{url}/app/clients")
    first = page.locator("table.clients tbody tr").first
    await expect(first.locator("a").first).to_have_text(re.compile(r"^(Ana Ortiz|Dee Lu)$"))
    await expect(first.locator('td[data-label="Phone"]')).to_contain_text("555")
    await expect(page.locator('table.clients td[data-label="Next task"]').first).to_be_visible()
    # The plans' emails (due at 10:00, the window opens at 11:00) say when they go out.
    await page.goto(f"{url}/app/clients?order=asc")  # the oldest: the demo plans' clients
    await expect(page.locator("table.clients td .goes-out").first).to_contain_text("goes out")
    assert await page.evaluate(LAYOUT_PROBLEMS) == []


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
async def test_every_fix_of_the_second_pass_at_a_phones_and_a_laptops_size(
    crm_process: System, database_url: str, browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    """Each of issue 20's fixes, on one demo account per size (page loads serve several
    checks; one CRM process per size)."""
    run_demo(database_url, "dana@harbor.example")
    url, phone = crm_process.url, size == PHONE
    page = await browser.new_page(viewport=size)
    try:
        await sign_in(page, url)
        await check_layouts(page, url)
        await tables_and_the_chart(page, url, phone)
        await a_sent_email_and_a_bounce(page, url)
        await an_error_in_plain_words(page, url)
        await the_preview_is_the_email(page, url)
        await settings_window_and_postal_address(page, url)
        await draft_now_without_an_llm(page, url)
        await plan_steps(page, url)
        await import_with_a_birthday(page, url, tmp_path)
        await newest_clients_first(page, url)
        icon = await page.request.get(f"{url}/favicon.ico")
        assert icon.status == 200
        assert icon.headers["content-type"] == "image/svg+xml"
    finally:
        await page.close()


def test_the_demo_reuses_an_account_registered_with_its_password(
    crm_process: System, database_url: str
) -> None:
    import httpx

    body = {"email": "dana@harbor.example", "password": PASSWORD, "name": "Dana Ruiz"}
    httpx.post(f"{crm_process.url}/auth/register", json=body).raise_for_status()
    assert "24 clients" in run_demo(database_url, "dana@harbor.example")
    assert "already holds the demo data" in run_demo(database_url, "dana@harbor.example")
