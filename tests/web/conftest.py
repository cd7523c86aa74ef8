"""Fixtures of the web app's tests: the CRM app in-process (for the HTTP-level checks) and
the whole system as OS processes with a headless Chromium (for the browser tests)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NATS
from playwright.async_api import Browser, async_playwright

from realtoros_contracts import Namespace
from realtoros_crm.app import build_app
from realtoros_crm.settings import CrmSettings
from tests.e2e.test_follow_up_loop import fake_llm_url
from tests.web.support import WebClient
from tests.web.system import System

__all__ = ["fake_llm_url"]  # the end-to-end test's fixture, shared


def settings_for(
    database_url: str, nats_url: str, namespace: Namespace, **extra: str
) -> CrmSettings:
    return CrmSettings.model_validate(
        {
            "database_url": database_url,
            "nats_url": nats_url,
            "nats_namespace": namespace.name,
            "jwt_secret": "test-jwt-secret-that-is-long-enough-0123456789",
            **extra,
        }
    )


@pytest.fixture
async def web(
    database_url: str, nats_url: str, namespace: Namespace, nats_client: NATS
) -> AsyncIterator[WebClient]:
    """The CRM app inside its lifespan and a cookie-keeping HTTP client (a browser's view)."""
    app = build_app(settings_for(database_url, nats_url, namespace))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://crm.test") as http,
    ):
        yield WebClient(app, http)


def require_chromium(path: str | None, *, ci: bool) -> str:
    """Debian's Chromium. Missing: a failure in CI (a skipped browser test must never pass
    for a green run there), a skip with the fix on a developer's machine."""
    if path is None:
        message = "chromium is not installed: ./dev test installs it (apt-get install chromium)"
        if ci:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    return require_chromium(found, ci=os.environ.get("CI", "").lower() in ("1", "true", "yes"))


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def system(
    run_dir: Path,
    nats_url: str,
    namespace: Namespace,
    nats_client: NATS,
    database_url: str,
    fake_llm_url: str,
) -> Iterator[System]:
    """The four services as OS processes: the composer on the fake LLM, the mailer writing
    .eml files (the transport of ``./dev run``)."""
    with System.start(run_dir, nats_url, namespace, database_url, fake_llm_url) as running:
        yield running


@pytest.fixture
def crm_process(
    run_dir: Path, nats_url: str, namespace: Namespace, nats_client: NATS, database_url: str
) -> Iterator[System]:
    """The CRM alone, as an OS process (pages only, nothing is sent)."""
    with System.start(run_dir, nats_url, namespace, database_url, None, only=("crm",)) as running:
        yield running
