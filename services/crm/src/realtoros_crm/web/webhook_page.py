"""One webhook endpoint: its delivery log, replaying one delivery, enabling, disabling and
deleting it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.db import after_commit
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import page, redirect
from realtoros_crm.web.session import WebAgent
from realtoros_crm.webhooks.models import WebhookEndpoint
from realtoros_crm.webhooks.schemas import webhook_id
from realtoros_crm.webhooks.service import (
    delete_endpoint,
    enable,
    endpoint_deliveries,
    get_endpoint,
    replay_delivery,
)

router = APIRouter(prefix="/app/integrations/webhooks")


async def _endpoint(
    session: SessionDep, agent_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    return found(await get_endpoint(session, agent_id, endpoint_id), "webhook endpoint")


@router.get("/{endpoint_id}")
async def endpoint_log(
    request: Request, endpoint_id: uuid.UUID, agent: WebAgent, session: SessionDep
) -> Response:
    endpoint = await _endpoint(session, agent.id, endpoint_id)
    deliveries = await endpoint_deliveries(session, endpoint)
    return page(
        request, "webhook.html", endpoint=endpoint, deliveries=deliveries, webhook_id=webhook_id
    )


@router.post("/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
) -> Response:
    endpoint = await _endpoint(session, agent.id, endpoint_id)
    back = f"/app/integrations/webhooks/{endpoint.id}"
    if not endpoint.enabled:
        return redirect(back, "Enable the endpoint first.")
    if await replay_delivery(session, endpoint, delivery_id, state.clock()) is None:
        raise PageNotFound("delivery")
    after_commit(session, state.webhooks.wake)
    return redirect(back, "The delivery is being sent again.")


@router.post("/{endpoint_id}/{action}")
async def act_on_endpoint(
    endpoint_id: uuid.UUID, action: str, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    endpoint = await _endpoint(session, agent.id, endpoint_id)
    if action == "delete":
        await delete_endpoint(session, endpoint)
        return redirect("/app/integrations", "Webhook endpoint deleted.")
    if action not in ("enable", "disable"):
        raise PageNotFound("action")
    enable(endpoint, action == "enable", state.clock())
    after_commit(session, state.webhooks.wake)
    return redirect(f"/app/integrations/webhooks/{endpoint.id}", f"Endpoint {action}d.")
