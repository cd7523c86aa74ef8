"""An on-demand draft through the real composer (template mode, its app on the same NATS
namespace): the CRM's DraftRequested comes back as a draft held for the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtoros_composer.app import build_composer
from realtoros_composer.settings import ComposerSettings
from realtoros_contracts import Namespace
from tests.crm.helpers import Crm, add_client, sign_up
from tests.crm.plan_support import call
from tests.support.waiting import eventually


@pytest.fixture
async def composer(nats_url: str, namespace: Namespace, nats_client: Any) -> AsyncIterator[None]:
    # model_validate, not the constructor: the test's values only, never the environment's.
    settings = ComposerSettings.model_validate(
        {"nats_url": nats_url, "nats_namespace": namespace.name, "composer_mode": "template"}
    )
    service = build_composer(settings)
    await service.bus.connect()
    await service.bus.broker.start()
    yield
    await service.bus.broker.stop()


@pytest.mark.usefixtures("composer")
async def test_an_on_demand_draft_comes_back_from_the_composer_held_for_review(
    crm: Crm,
) -> None:
    who = await sign_up(crm.http)  # automatic mode: still held, the agent asked to see it
    client = await add_client(crm.http, who, name="Dora Doe", property_address="12 Elm St")
    body = {"instructions": "Ask how the school visit went"}
    accepted = await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 202, json=body)

    async def drafted() -> dict[str, Any] | None:
        email = await call(crm, who, "GET", f"/emails/{accepted['email_id']}")
        return email if email["status"] == "awaiting_approval" else None

    email = await eventually(drafted, timeout=30, what="the composer's draft")
    assert email["subject"]
    assert "Dora" in email["body_text"]
    # The next request warns before its draft: no LLM wrote the last one.
    again = await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 202, json=body)
    assert again["llm"] == "not_set_up"
    assert (
        "this draft will be the standard template too, held for your review" in (again["warning"])
    )
    assert "Your instructions can't be followed" in again["warning"]
    silent = await call(crm, who, "POST", f"/clients/{client['id']}/drafts", 202, json={})
    assert "instructions" not in silent["warning"]
    task = await call(crm, who, "GET", f"/tasks/{accepted['task_id']}")
    assert (task["status"], task["purpose"]) == ("awaiting_approval", "On demand")
