"""The statements of the agent's side of ``webhook_endpoints`` and ``webhook_deliveries``
(the dispatcher's and the fan-out's own are next to their loops). Flushes only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.db import owned_row, owned_rows
from realtoros_crm.webhooks.models import WebhookDelivery, WebhookEndpoint


async def list_endpoints(session: AsyncSession, agent_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
    order = (WebhookEndpoint.created_at, WebhookEndpoint.id)
    return await owned_rows(session, WebhookEndpoint, agent_id, *order)


async def disabled_endpoints(
    session: AsyncSession, agent_id: uuid.UUID
) -> Sequence[WebhookEndpoint]:
    """The endpoints the dispatcher disabled: the agent's notice on the dashboard."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.agent_id == agent_id, WebhookEndpoint.disabled_at.is_not(None)
    )
    return (await session.scalars(statement)).all()


async def get_endpoint(
    session: AsyncSession, agent_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    return await owned_row(session, WebhookEndpoint, agent_id, endpoint_id)


async def endpoint_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, limit: int
) -> Sequence[WebhookDelivery]:
    """The endpoint's delivery log, newest first."""
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def lock_delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
        .with_for_update()
    )
