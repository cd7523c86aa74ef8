"""The agent's webhook endpoints and their delivery logs. Flushes only: the entrypoint commits."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.db import add_row, delete_row
from realtoros_crm.webhooks import repository
from realtoros_crm.webhooks.guard import check_url
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint
from realtoros_crm.webhooks.repository import disabled_endpoints as disabled_endpoints
from realtoros_crm.webhooks.repository import get_endpoint as get_endpoint
from realtoros_crm.webhooks.repository import list_endpoints as list_endpoints
from realtoros_crm.webhooks.schemas import EndpointCreate, EndpointUpdate

LOG_LIMIT = 100


class ScopeTooWide(PermissionError):
    """A key may not subscribe payloads that carry more than the key itself may read."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_scopes(scopes: Sequence[str], key_scopes: Sequence[str] | None) -> None:
    if key_scopes is not None and not set(scopes) <= set(key_scopes):
        wider = sorted(set(scopes) - set(key_scopes))
        raise ScopeTooWide(f"this API key lacks the scope {wider[0]!r} the payloads would need")


async def create_endpoint(
    session: AsyncSession,
    agent_id: uuid.UUID,
    data: EndpointCreate,
    *,
    allow_loopback: bool,
    key_scopes: Sequence[str] | None,
    now: datetime,
) -> WebhookEndpoint:
    _check_scopes(data.scopes, key_scopes)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        agent_id=agent_id,
        url=check_url(data.url, allow_loopback=allow_loopback),
        description=data.description,
        event_types=data.event_types,
        scopes=data.scopes,
        secret=new_secret(),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    return await add_row(session, endpoint)


async def update_endpoint(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    data: EndpointUpdate,
    *,
    allow_loopback: bool,
    key_scopes: Sequence[str] | None,
    now: datetime,
) -> None:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "scopes" in changes:
        _check_scopes(changes["scopes"], key_scopes)
    if "url" in changes:
        changes["url"] = check_url(changes["url"], allow_loopback=allow_loopback)
    if changes.pop("enabled", None) is not None:
        enable(endpoint, bool(data.enabled), now)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = now
    await session.flush()


def enable(endpoint: WebhookEndpoint, enabled: bool, now: datetime) -> None:
    """Enabling clears the failure record: the waiting deliveries are tried again."""
    endpoint.enabled, endpoint.updated_at = enabled, now
    if enabled:
        endpoint.failing_since = endpoint.disabled_at = endpoint.disabled_reason = None


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    await delete_row(session, endpoint)


async def endpoint_deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, limit: int = LOG_LIMIT
) -> Sequence[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    return await repository.endpoint_deliveries(session, endpoint.id, limit)


async def replay_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID, now: datetime
) -> WebhookDelivery | None:
    """Send the delivery once more, now: the same payload and ``webhook-id`` (a receiver
    that already has it knows it is a copy)."""
    delivery = await repository.lock_delivery(session, endpoint.id, delivery_id)
    if delivery is not None:
        delivery.status, delivery.next_attempt_at = "pending", now
        await session.flush()
    return delivery
