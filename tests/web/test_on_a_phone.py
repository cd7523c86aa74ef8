"""The demo account on a phone-sized screen, by keyboard: no page scrolls sideways, every
control has a label, and signing in needs no mouse."""

from __future__ import annotations

import os
import subprocess
import sys

from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.support.processes import REPO
from tests.web.support import APP_PAGES, PASSWORD
from tests.web.system import System

PHONE: ViewportSize = {"width": 390, "height": 844}
PAGES = [path for path in APP_PAGES if path != "/app/integrations"]

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]') && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML.slice(0, 120))"""


def run_demo(database_url: str, email: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "realtoros_crm", "demo", "--email", email, "--password", PASSWORD],
        env={**os.environ, "DATABASE_URL": database_url, "REALTOROS_SECRETS_DIR": "/nonexistent"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def sign_in_by_keyboard(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/login")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.get_by_label("Email address").focus()
    await page.keyboard.type("dana@harbor.example")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Good day, Dana Ruiz")).to_be_visible()


async def test_the_demo_on_a_phone_by_keyboard(
    crm_process: System, database_url: str, browser: Browser
) -> None:
    out = run_demo(database_url, "dana@harbor.example")
    assert "24 clients" in out
    page = await browser.new_page(viewport=PHONE)
    try:
        await sign_in_by_keyboard(page, crm_process.url)
        for path in [*PAGES, "first client", "first draft"]:
            if path == "first client":
                await page.goto(f"{crm_process.url}/app/clients")
                await page.locator("table.clients a").first.click()
            elif path == "first draft":
                await page.goto(f"{crm_process.url}/app/drafts")
                await page.locator(".cards-list a").first.click()
            else:
                await page.goto(f"{crm_process.url}{path}")
            await expect(page.locator("h1")).to_be_visible()
            width = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], f"{path} scrolls sideways: {width}"
            assert await page.evaluate(UNLABELLED) == [], path
    finally:
        await page.close()
