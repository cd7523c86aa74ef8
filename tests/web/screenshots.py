"""``python -m tests.web.screenshots``: PNGs of the web app's main pages for the docs.

Starts an embedded NATS and PostgreSQL of its own (a temp dir), migrates, runs the CRM as a
process, fills a demo account (``realtoros-crm demo``) and photographs each page with the
headless Chromium the browser tests use, on a laptop and a phone, into docs/screenshots/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Page, ViewportSize, async_playwright

from realtoros_contracts import Namespace
from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres
from tests.support.processes import REPO
from tests.web.support import PASSWORD
from tests.web.system import System

EMAIL = "dana@harbor.example"
LAPTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 390, "height": 844}
SHOTS = [
    ("dashboard", "/app"),
    ("clients", "/app/clients"),
    ("client", "first client"),
    ("draft", "first draft"),
    ("tasks", "/app/tasks"),
    ("tasks-calendar", "/app/tasks/calendar"),
    ("emails", "/app/emails"),
    ("plans", "/app/plans"),
    ("import", "/app/import"),
    ("settings", "/app/settings"),
]
PHONE_SHOTS = ("dashboard", "clients", "client", "draft", "tasks")
FULL_PAGE = ("dashboard", "client", "settings")
"""Long lists are shown as far as a laptop's screen goes: the files stay small."""


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def _open(page: Page, base: str, target: str) -> None:
    if target == "first client":
        await page.goto(f"{base}/app/clients?q=ana+kim")
        await page.locator("table.clients a").first.click()
    elif target == "first draft":
        await page.goto(f"{base}/app/drafts")
        await page.locator(".cards-list a").first.click()
    else:
        await page.goto(f"{base}{target}")
    await page.wait_for_load_state("networkidle")


async def _photograph(base: str, chromium: str, out: Path) -> list[Path]:
    written: list[Path] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page = await browser.new_page(viewport=viewport)
            await page.goto(f"{base}/app/login")
            if size == "laptop":
                written.append(out / "sign-in.png")
                await page.screenshot(path=written[-1])
            await page.get_by_label("Email address").fill(EMAIL)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            for name, target in SHOTS:
                if size == "phone" and name not in PHONE_SHOTS:
                    continue
                await _open(page, base, target)
                written.append(out / f"{name}{'-phone' if size == 'phone' else ''}.png")
                full = size == "laptop" and name in FULL_PAGE
                await page.screenshot(path=written[-1], full_page=full)
            await page.close()
        await browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.web.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: apt-get install chromium (./dev test does)")
    work = Path(tempfile.mkdtemp(prefix="realtoros-screens-"))
    work.chmod(0o755)  # the embedded PostgreSQL runs as another user under root
    nats = EmbeddedNats(work / "nats").start()
    postgres = EmbeddedPostgres(work / "postgres").start()
    try:
        asyncio.run(_create_database(postgres.url))
        database_url = postgres.url_for("screens")
        _run([sys.executable, "-m", "realtoros_crm", "migrate"], {"DATABASE_URL": database_url})
        demo = [
            sys.executable,
            "-m",
            "realtoros_crm",
            "demo",
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
        ]
        print(_run(demo, {"DATABASE_URL": database_url}).strip())
        args.out.mkdir(parents=True, exist_ok=True)
        with System.start(
            work, nats.url, Namespace("screens"), database_url, None, only=("crm",)
        ) as system:
            written = asyncio.run(_photograph(system.url, chromium, args.out))
        for path in written:
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    finally:
        postgres.stop()
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


async def _create_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE DATABASE screens")
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
