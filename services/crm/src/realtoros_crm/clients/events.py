"""The events other systems hear about clients and tasks (ClientCreated, ClientUpdated,
TaskCompleted), written to the outbox in the transaction of the change. They name what
changed, never the values: a subscriber that may see the values reads them from the CRM."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import ClientCreated, ClientUpdated, Namespace, TaskCompleted
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.repository import client_sources
from realtoros_crm.clients.stages import StageChange, StageHook
from realtoros_crm.messaging.outbox import add_to_outbox, copy_to_outbox


def announce_new_clients(ns: Namespace) -> StageHook:
    """A stage hook: every new client (created, imported, a lead) is a ClientCreated."""

    async def on_new_clients_publish_created(
        session: AsyncSession, changes: Sequence[StageChange]
    ) -> None:
        new = [change for change in changes if change.old is None]
        if not new:
            return
        sources = await client_sources(session, [change.client_id for change in new])
        events = [
            (
                ClientCreated(
                    agent_id=change.agent_id,
                    client_id=change.client_id,
                    stage=change.new,
                    source=sources.get(change.client_id),
                    created_at=change.at,
                ),
                f"client-created:{change.client_id}",
            )
            for change in new
        ]
        await copy_to_outbox(session, ns, events, now=new[0].at)

    return on_new_clients_publish_created


def announce_client_update(
    session: AsyncSession, ns: Namespace, client: Client, changed: Sequence[str], now: datetime
) -> None:
    if not changed:
        return
    event = ClientUpdated(
        agent_id=client.agent_id,
        client_id=client.id,
        changed=sorted(set(changed)),
        stage=client.stage,
        updated_at=now,
    )
    add_to_outbox(session, ns, event, event_id=f"client-updated:{uuid.uuid4()}", now=now)


def announce_task_completed(
    session: AsyncSession,
    ns: Namespace,
    *,
    task_ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    task_type: str,
    purpose: str,
    now: datetime,
) -> None:
    """``task_ids``: (agent, task, client)."""
    agent_id, task_id, client_id = task_ids
    event = TaskCompleted(
        agent_id=agent_id,
        task_id=task_id,
        client_id=client_id,
        task_type=task_type,
        purpose=purpose[:200],
        completed_at=now,
    )
    add_to_outbox(session, ns, event, event_id=f"task-completed:{task_id}", now=now)
