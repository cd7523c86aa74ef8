"""Clients, always scoped to their agent. Every change that matters is recorded on the
timeline; stage changes are returned (``StageChange``) for the stage hooks. Flushes only:
the entrypoint commits."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_object_session

from realtoros_contracts import Namespace
from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.events import announce_client_update
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.repository import client_choices as client_choices
from realtoros_crm.clients.repository import client_names as client_names
from realtoros_crm.clients.repository import client_zones as client_zones
from realtoros_crm.clients.repository import get_client as get_client
from realtoros_crm.clients.repository import same_contact_clients
from realtoros_crm.clients.schemas import REACHABLE, ClientCreate, ClientUpdate, DuplicateMatch
from realtoros_crm.clients.stages import StageChange
from realtoros_crm.clients.unsubscribing import unsubscribe_client
from realtoros_crm.customfields.service import FieldValueInvalid, check_values

STAGE_LABELS = {"under_contract": "under contract"}


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


async def client_name(session: AsyncSession, agent_id: uuid.UUID, client_id: uuid.UUID) -> str:
    """One client's name for a page ("client" if the agent has no such client)."""
    return (await client_names(session, agent_id, [client_id])).get(client_id, "client")


class ClientInvalid(ValueError):
    """The change would leave the client invalid (the API answers 422 with the message)."""


def email_key(email: str | None) -> str:
    return (email or "").strip().lower()


def phone_digits(phone: str | None) -> str:
    return re.sub(r"[^0-9]", "", phone or "")


def _note(client: Client, kind: str, summary: str, now: datetime) -> None:
    record_activity(
        object_session_of(client),
        agent_id=client.agent_id,
        client_id=client.id,
        kind=kind,
        summary=summary,
        occurred_at=now,
    )


def object_session_of(client: Client) -> AsyncSession:
    session = async_object_session(client)
    assert session is not None, "the client is not attached to a session"
    return session


# How each stage reads after "Added …": "as a lead", "in negotiation", "under contract".
STAGE_PHRASES = {
    "lead": "as a lead",
    "prospect": "as a prospect",
    "negotiating": "in negotiation",
    "under_contract": "under contract",
    "closed": "as a closed deal",
    "lost": "as lost",
}


def created_summary(client: Client, how: str = "Added") -> str:
    phrase = STAGE_PHRASES.get(client.stage, f"at stage {stage_label(client.stage)}")
    summary = f"{how} {phrase}"
    return summary + (f" (source: {client.source})" if client.source else "")


async def _typed(
    session: AsyncSession, agent_id: uuid.UUID, values: dict[str, Any]
) -> dict[str, Any]:
    try:
        return await check_values(session, agent_id, values)
    except FieldValueInvalid as exc:
        raise ClientInvalid(str(exc)) from None


async def create_client(
    session: AsyncSession, agent_id: uuid.UUID, data: ClientCreate, *, now: datetime
) -> tuple[Client, StageChange]:
    """:class:`ClientInvalid` when a custom field's value does not fit its type."""
    fields = data.model_dump()
    fields["custom_fields"] = await _typed(session, agent_id, data.custom_fields)
    client = Client(id=uuid.uuid4(), agent_id=agent_id, created_at=now, updated_at=now, **fields)
    session.add(client)
    await session.flush()  # before its activities: no relationship() orders the inserts
    _note(client, "client_created", created_summary(client), now)
    if client.notes:
        _note(client, "note_added", f"Note: {client.notes}", now)
    await session.flush()
    return client, StageChange(agent_id, client.id, None, client.stage, now)


async def find_duplicates(session: AsyncSession, client: Client) -> list[DuplicateMatch]:
    """The agent's other clients with the same email key or phone digits (7+ digits)."""
    found = await same_contact_clients(
        session, client, email_key(client.email), phone_digits(client.phone)
    )
    return [
        DuplicateMatch(
            id=row.id, name=row.name, email=row.email, matched_on="email" if by_email else "phone"
        )
        for row, by_email in found
    ]


def _describe_changes(client: Client, changes: dict[str, Any], now: datetime) -> None:
    if "notes" in changes and changes["notes"] and changes["notes"] != client.notes:
        _note(client, "note_added", f"Note: {changes['notes']}", now)
    if "tags" in changes:
        added = [t for t in changes["tags"] if t not in client.tags]
        removed = [t for t in client.tags if t not in changes["tags"]]
        if added or removed:
            parts = ([f"added {', '.join(added)}"] if added else []) + (
                [f"removed {', '.join(removed)}"] if removed else []
            )
            _note(client, "tags_changed", "Tags " + "; ".join(parts), now)
    other = sorted(k for k in changes if k not in {"notes", "tags", "stage", "unsubscribed"})
    other = [k for k in other if changes[k] != getattr(client, k)]
    if other:
        _note(client, "client_updated", "Updated " + ", ".join(other).replace("_", " "), now)


def change_stage(client: Client, stage: str, now: datetime) -> StageChange | None:
    if stage == client.stage:
        return None
    old, client.stage, client.updated_at = client.stage, stage, now
    _note(
        client,
        "stage_changed",
        f"Stage changed from {stage_label(old)} to {stage_label(stage)}",
        now,
    )
    return StageChange(client.agent_id, client.id, old, stage, now)


def mark_unsubscribed(client: Client, ns: Namespace, now: datetime) -> None:
    """The agent records that the client wants no more email: same effect as the link."""
    summary = "Marked unsubscribed by the agent."
    session = object_session_of(client)
    unsubscribe_client(session, ns, client, source="agent", summary=summary, at=now, now=now)


async def update_client(
    session: AsyncSession, client: Client, data: ClientUpdate, ns: Namespace, *, now: datetime
) -> StageChange | None:
    """:class:`ClientInvalid` when the client would have neither email nor phone, or a
    custom field's value does not fit its type."""
    changes = data.model_dump(exclude_unset=True)
    if "custom_fields" in changes:
        changes["custom_fields"] = await _typed(session, client.agent_id, changes["custom_fields"])
    email, phone = changes.get("email", client.email), changes.get("phone", client.phone)
    if not email and not phone:
        raise ClientInvalid(REACHABLE)
    changed = [k for k, v in changes.items() if v != getattr(client, k)]
    _describe_changes(client, changes, now)
    stage = changes.pop("stage", None)
    unsubscribed = changes.pop("unsubscribed", None)
    for name, value in changes.items():
        setattr(client, name, value)
    client.updated_at = now
    change = change_stage(client, stage, now) if stage is not None else None
    if unsubscribed is True and not client.unsubscribed:
        mark_unsubscribed(client, ns, now)
    elif unsubscribed is False and client.unsubscribed:
        client.unsubscribed = False
        _note(client, "resubscribed", "Follow-ups resumed by the agent.", now)
    announce_client_update(session, ns, client, changed, now)
    await session.flush()
    return change


def soft_delete(client: Client, now: datetime) -> None:
    """Out of the lists and the follow-ups; its emails and timeline stay."""
    client.deleted_at, client.updated_at = now, now
    _note(client, "client_deleted", "Deleted (restorable; email history kept)", now)


def restore(client: Client, now: datetime) -> None:
    client.deleted_at, client.updated_at = None, now
    _note(client, "client_restored", "Restored", now)
