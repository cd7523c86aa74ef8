"""Helpers of the web tests: a browser-like HTTP client that signs up and submits forms
with their CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.async_api import Page, expect

PASSWORD = "correct horse battery"
# Every page of the app's menu, for a signed-in agent.
APP_PAGES = [
    "/app",
    "/app/clients",
    "/app/clients/new",
    "/app/drafts",
    "/app/tasks",
    "/app/tasks/calendar",
    "/app/emails",
    "/app/plans",
    "/app/import",
    "/app/settings",
    "/app/integrations",
]
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class WebClient:
    app: FastAPI
    http: httpx.AsyncClient

    async def submit(self, page: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """GET ``page``, then POST its form to ``action`` with the page's CSRF token."""
        form = await self.http.get(page)
        assert form.status_code == 200, form.text
        return await self.http.post(action, data={"csrf": csrf_of(form.text), **data})

    async def add_client(self, form: dict[str, Any]) -> httpx.Response:
        """Submit the new-client form (303 to the client's page, or 422 with the errors)."""
        return await self.submit("/app/clients/new", "/app/clients/new", form)

    async def sign_up(self, email: str, name: str = "Dana Ruiz") -> httpx.Response:
        response = await self.submit(
            "/app/register",
            "/app/register",
            {"name": name, "email": email, "password": PASSWORD, "brokerage": "Harbor Realty"},
        )
        assert response.status_code == 303, response.text
        return response

    async def sign_out(self) -> None:
        response = await self.submit("/app", "/app/logout", {})
        assert response.status_code == 303


async def sign_in(
    page: Page, url: str, email: str = "dana@harbor.example", name: str = "Dana Ruiz"
) -> None:
    """Sign in through the login form in the browser; the dashboard greets the agent."""
    await page.goto(f"{url}/app/login")
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=f"Good day, {name}")).to_be_visible()
