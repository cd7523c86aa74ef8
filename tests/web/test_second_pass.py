"""The web app's second pass (issue 20), in Chromium at phone and laptop sizes on the demo
account: layouts that fit, errors that look and read like errors, the email preview, the
CAN-SPAM hold, overdue tasks, friendly time zones, the favicon and a demo that re-runs."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.web.support import PASSWORD
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


async def sign_in(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/login")
    await page.get_by_label("Email address").fill("dana@harbor.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Good day, Dana Ruiz")).to_be_visible()


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


async def test_pages_fit_a_phone_with_cards_and_a_compact_nav(
    crm_process: System, database_url: str, browser: Browser, tmp_path: Path
) -> None:
    run_demo(database_url, "dana@harbor.example")
    page = await browser.new_page(viewport=PHONE)
    try:
        await sign_in(page, crm_process.url)
        await check_layouts(page, crm_process.url)
        header = await page.locator("header.top").bounding_box()
        assert header is not None
        assert header["height"] <= 90, header
        await page.goto(f"{crm_process.url}/app/tasks")
        row = page.locator("table.stack tbody tr").first
        assert await row.evaluate("el => getComputedStyle(el).display") == "block"  # a card
        await expect(page.locator("tr.overdue .s-overdue").first).to_have_text("overdue")
        await page.goto(f"{crm_process.url}/app")
        label = page.locator(".chart .y-axis span").first
        size = await label.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 11, size
        await import_with_a_birthday(page, crm_process.url, tmp_path)
    finally:
        await page.close()


async def test_errors_sent_drafts_previews_and_the_postal_address_rule_on_a_laptop(
    crm_process: System, database_url: str, browser: Browser
) -> None:
    run_demo(database_url, "dana@harbor.example")
    url = crm_process.url
    page = await browser.new_page(viewport=LAPTOP)
    try:
        await sign_in(page, url)
        await check_layouts(page, url)
        # A sent email's draft page offers nothing to do; the demo tells what it is.
        await page.goto(f"{url}/app/tasks?status=sent")
        await page.locator("table.stack td.title a").first.click()
        task_page = page.url
        await page.get_by_role("link", name="See the email").click()
        await expect(page.locator("#email-status")).to_contain_text("sent")
        await expect(page.locator("body")).not_to_contain_text("gpt-4o-mini")
        await expect(page.locator("body")).not_to_contain_text("via ses")
        await page.goto(task_page.replace("/app/tasks/", "/app/drafts/"))
        await expect(page.locator("#draft-status")).to_have_text("sent")
        await expect(page.get_by_role("button", name="Approve and send")).to_be_hidden()
        await expect(page.get_by_role("button", name="Skip this follow-up")).to_be_hidden()

        # Rescheduling into the past: refused, as an error, in plain words.
        await page.goto(f"{url}/app/tasks?status=pending&type=call")
        await page.locator("table.stack td.title a").first.click()
        await page.get_by_label("New due date and time").fill("2020-01-01T09:00")
        await page.get_by_role("button", name="Reschedule").click()
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("can't be moved into the past")
        colour = await alert.evaluate("el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(253, 236, 234)", colour  # the error banner, not the green one
        await expect(page.locator("#task-due .s-overdue")).to_have_text("overdue")

        # The preview is the email the client gets: signature, postal address, footer;
        # a draft that signs off itself is not signed twice.
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

        # Without a postal address nothing is sent, and the agent is told why.
        await page.goto(f"{url}/app/settings")
        await page.get_by_label("Postal address (shown in emails)").fill("")
        await page.get_by_label("Time zone").fill("Eastern")  # a friendly name
        await page.get_by_role("button", name="Save settings").click()
        await expect(page.get_by_role("status")).to_have_text("Settings saved.")
        await expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
        await page.goto(f"{url}/app/drafts")
        await page.locator(".cards-list a").first.click()
        await expect(page.locator("#final-missing")).to_contain_text("a postal address")
        await page.get_by_role("button", name="Approve and send").click()
        await expect(page.get_by_role("alert")).to_contain_text("add a postal address")
        await expect(page.locator("#draft-status")).to_have_text("awaiting approval")

        # Plan steps: one line each, reordered by buttons, edited in a disclosure.
        await page.goto(f"{url}/app/plans")
        await page.get_by_role("link", name="Open house follow-up").click()
        steps = page.locator("ol.steps > li .step-what")
        await expect(steps.first).to_contain_text("Thanks for visiting")
        await page.get_by_role("button", name="Move step 1 down").click()
        await expect(page.get_by_role("status")).to_have_text("Step saved.")
        await expect(steps.nth(1)).to_contain_text("Thanks for visiting")
        await expect(page.get_by_label("Order")).to_have_count(0)

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
