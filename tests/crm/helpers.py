"""Helpers of the CRM tests: API calls, polling with a deadline, reading streams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from realtoros_contracts import SchedulerTick
from realtoros_crm.state import CrmState
from realtoros_runtime.publisher import EventPublisher
from tests.support.waiting import eventually

T = TypeVar("T")

PASSWORD = "correct horse battery"


@dataclass
class Crm:
    """The CRM app, running (inside its lifespan), and a client of its API."""

    app: FastAPI
    http: httpx.AsyncClient

    @property
    def state(self) -> CrmState:
        state: CrmState = self.app.state.crm
        return state


@dataclass
class SignedIn:
    agent: dict[str, Any]
    headers: dict[str, str]


def now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    return at.isoformat()


async def sign_up(http: httpx.AsyncClient, **fields: Any) -> SignedIn:
    body = {
        "email": f"agent-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "name": "Ada Agent",
        "brokerage": "Lovelace Realty",
        # Without both nothing is sent automatically (CAN-SPAM): tests of that pass "".
        "signature": "Ada Agent\nLovelace Realty",
        "postal_address": "1 Analytical Way, London",
        **fields,
    }
    created = await http.post("/auth/register", json=body)
    assert created.status_code == 201, created.text
    login = await http.post("/auth/login", json={"email": body["email"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    return SignedIn(created.json(), {"Authorization": f"Bearer {token}"})


async def add_client(http: httpx.AsyncClient, who: SignedIn, **fields: Any) -> dict[str, Any]:
    body = {"name": "Carla Client", "email": f"c-{uuid.uuid4().hex[:8]}@example.org", **fields}
    response = await http.post("/clients", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def add_task(
    http: httpx.AsyncClient,
    who: SignedIn,
    client_id: str,
    due_in: timedelta = timedelta(minutes=-1),
    **fields: Any,
) -> dict[str, Any]:
    body = {"client_id": client_id, "due_at": iso(now() + due_in), **fields}
    response = await http.post("/tasks", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def get_task(http: httpx.AsyncClient, who: SignedIn, task_id: str) -> dict[str, Any]:
    response = await http.get(f"/tasks/{task_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def wait_task_status(
    http: httpx.AsyncClient, who: SignedIn, task_id: str, status: str, timeout: float = 5.0
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        task = await get_task(http, who, task_id)
        return task if task["status"] == status else None

    return await eventually(check, timeout=timeout, what=f"task {task_id} to be {status}")


async def publish_tick(publisher: EventPublisher, slot: datetime | None = None) -> None:
    at = slot or datetime.now(UTC)  # a new slot each call: a tick id is schedule + slot
    tick = SchedulerTick(schedule="due-tasks", slot=at, leader="test")
    await publisher.publish(tick, event_id=SchedulerTick.event_id(tick.schedule, at))


async def claimed_task(
    crm: Crm, publisher: EventPublisher, who: SignedIn | None = None, **client_fields: Any
) -> tuple[SignedIn, dict[str, Any]]:
    """A task the CRM has claimed (composing, with its email id), through a real tick."""
    who = who or await sign_up(crm.http)
    client = await add_client(crm.http, who, **client_fields)
    task = await add_task(crm.http, who, client["id"])
    await publish_tick(publisher)
    return who, await wait_task_status(crm.http, who, task["id"], "composing")
