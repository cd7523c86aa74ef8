"""The agent's webhook endpoints: subscribe a URL to event types, change, enable again,
delete; each endpoint's delivery log, and replaying one delivery. With a key: scope
``webhooks:manage``, and payload scopes no wider than the key's own."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep, api_key_of
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.db import after_commit
from realtoros_crm.state import CrmState
from realtoros_crm.webhooks.catalogue import WEBHOOK_TYPES
from realtoros_crm.webhooks.guard import BadWebhookUrl
from realtoros_crm.webhooks.models import WebhookEndpoint
from realtoros_crm.webhooks.schemas import (
    DeliveryPublic,
    EndpointCreate,
    EndpointCreated,
    EndpointPublic,
    EndpointUpdate,
)
from realtoros_crm.webhooks.service import (
    ScopeTooWide,
    create_endpoint,
    delete_endpoint,
    endpoint_deliveries,
    get_endpoint,
    list_endpoints,
    replay_delivery,
    update_endpoint,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
NOT_FOUND = problem_responses(404)


def _rules(request: Request, state: CrmState) -> dict[str, Any]:
    """What an endpoint's URL and scopes are checked against, for this request."""
    key = api_key_of(request)
    return {
        "allow_loopback": state.settings.webhook_allow_loopback,
        "key_scopes": list(key.scopes) if key is not None else None,
        "now": state.clock(),
    }


def _refused(exc: Exception) -> HTTPException:
    if isinstance(exc, ScopeTooWide):
        return HTTPException(status.HTTP_403_FORBIDDEN, str(exc))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"url: {exc}")


async def _endpoint(session: SessionDep, agent_id: uuid.UUID, id: uuid.UUID) -> WebhookEndpoint:
    return found(await get_endpoint(session, agent_id, id), "webhook endpoint", id)


@router.get("/event-types")
async def read_event_types(agent_id: CurrentAgentId) -> dict[str, str]:
    """The event types an endpoint can subscribe to, with what each means."""
    return {webhook_type.name: webhook_type.summary for webhook_type in WEBHOOK_TYPES}


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 422))
async def add_endpoint(
    request: Request,
    data: EndpointCreate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> EndpointCreated:
    """Subscribe an HTTPS URL; the answer carries the signing secret."""
    try:
        endpoint = await create_endpoint(session, agent_id, data, **_rules(request, state))
    except (BadWebhookUrl, ScopeTooWide) as exc:
        raise _refused(exc) from None
    public = EndpointPublic.model_validate(endpoint).model_dump()
    return EndpointCreated.model_validate({**public, "secret": endpoint.secret})


@router.get("")
async def read_endpoints(agent_id: CurrentAgentId, session: SessionDep) -> list[EndpointPublic]:
    """The agent's endpoints; a disabled one says why."""
    return [EndpointPublic.model_validate(e) for e in await list_endpoints(session, agent_id)]


@router.get("/{endpoint_id}", responses=NOT_FOUND)
async def read_endpoint(
    endpoint_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> EndpointPublic:
    return EndpointPublic.model_validate(await _endpoint(session, agent_id, endpoint_id))


@router.patch("/{endpoint_id}", responses=problem_responses(403, 404, 422))
async def change_endpoint(
    request: Request,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> EndpointPublic:
    """Change the URL, types or scopes; ``enabled: true`` enables a disabled endpoint."""
    endpoint = await _endpoint(session, agent_id, endpoint_id)
    try:
        await update_endpoint(session, endpoint, data, **_rules(request, state))
    except (BadWebhookUrl, ScopeTooWide) as exc:
        raise _refused(exc) from None
    after_commit(session, state.webhooks.wake)
    return EndpointPublic.model_validate(endpoint)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def remove_endpoint(
    endpoint_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> None:
    """Delete the endpoint and its delivery log."""
    await delete_endpoint(session, await _endpoint(session, agent_id, endpoint_id))


@router.get("/{endpoint_id}/deliveries", responses=NOT_FOUND)
async def read_deliveries(
    endpoint_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> list[DeliveryPublic]:
    """The endpoint's last 100 deliveries, newest first, with their attempts' outcome."""
    endpoint = await _endpoint(session, agent_id, endpoint_id)
    return [DeliveryPublic.of(d) for d in await endpoint_deliveries(session, endpoint)]


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(404, 409),
)
async def replay(
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> DeliveryPublic:
    """Send one delivery again, now (same payload, same ``webhook-id``)."""
    endpoint = await _endpoint(session, agent_id, endpoint_id)
    if not endpoint.enabled:
        raise HTTPException(status.HTTP_409_CONFLICT, "the endpoint is disabled: enable it first")
    delivery = found(
        await replay_delivery(session, endpoint, delivery_id, state.clock()),
        "delivery",
        delivery_id,
    )
    after_commit(session, state.webhooks.wake)
    return DeliveryPublic.of(delivery)
