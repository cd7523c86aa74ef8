"""Every statement on ``clients`` except the list's (``listing.py``: its filters, sort and
cursor are a query builder of their own). Flushes only: the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import Client
from realtoros_crm.db import copy_rows

CLIENT_COLUMNS = [
    "id", "agent_id", "name", "email", "phone", "stage", "property_address", "property_type",
    "source", "tags", "notes", "custom_fields", "timezone", "unsubscribed", "created_at",
    "updated_at",
]  # fmt: skip
"""The columns ``copy_clients`` writes, in the order of its records."""


def _live(agent_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    return Client.agent_id == agent_id, Client.deleted_at.is_(None)


async def get_client(
    session: AsyncSession,
    agent_id: uuid.UUID,
    client_id: uuid.UUID,
    *,
    deleted: bool = False,
    lock: bool = False,
) -> Client | None:
    """The agent's client (a deleted one when ``deleted``), or None — also for another
    agent's, which must be indistinguishable from one that does not exist."""
    gone = Client.deleted_at.is_not(None) if deleted else Client.deleted_at.is_(None)
    statement = select(Client).where(Client.id == client_id, Client.agent_id == agent_id, gone)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def lock_clients(
    session: AsyncSession, agent_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> list[Client]:
    """The agent's live clients among ``ids``, locked in one order (id): two bulk requests
    never deadlock."""
    statement = (
        select(Client)
        .where(*_live(agent_id), Client.id.in_(ids))
        .order_by(Client.id)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def same_contact_clients(
    session: AsyncSession, client: Client, email_key: str | None, phone_digits: str
) -> Sequence[tuple[Client, bool]]:
    """Up to 20 of the agent's other live clients with ``email_key`` or (7+ digits)
    ``phone_digits``, oldest first, each with whether it matched on the email."""
    same_email = Client.email_key == email_key
    by_phone = Client.phone_digits == phone_digits
    if len(phone_digits) < 7:
        condition = same_email
    else:
        condition = or_(same_email, by_phone) if client.email else by_phone
    statement = (
        select(Client, same_email.label("by_email"))
        .where(*_live(client.agent_id), Client.id != client.id, condition)
        .order_by(Client.created_at, Client.id)
        .limit(20)
    )
    return [(row, bool(by_email)) for row, by_email in (await session.execute(statement)).all()]


async def client_choices(
    session: AsyncSession, agent_id: uuid.UUID, limit: int = 500
) -> Sequence[Any]:
    """The agent's clients as (id, name) rows, by name: the choices of a form's select."""
    statement = (
        select(Client.id, Client.name)
        .where(*_live(agent_id))
        .order_by(Client.name, Client.id)
        .limit(limit)
    )
    return (await session.execute(statement)).all()


async def client_names(
    session: AsyncSession, agent_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The names of some of the agent's clients (deleted ones too: their history stays)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    statement = select(Client.id, Client.name).where(
        Client.agent_id == agent_id, Client.id.in_(wanted)
    )
    return {row.id: row.name for row in (await session.execute(statement)).all()}


async def client_sources(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    statement = select(Client.id, Client.source).where(Client.id.in_(ids))
    return {row.id: row.source for row in await session.execute(statement)}


async def existing_matches(
    session: AsyncSession, agent_id: uuid.UUID, emails: list[str], phones: list[str]
) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """The agent's live clients with these email keys, and with these phone digits."""
    columns = (Client.id, Client.email_key, Client.phone_digits)
    # Two lookups, not one ``email IN (…) OR phone IN (…)``: PostgreSQL cannot hash an OR
    # of two lists, and compared each of the agent's rows with every key of the batch —
    # seconds per batch once the agent has tens of thousands of clients.
    statement = union_all(
        select(*columns).where(*_live(agent_id), Client.email_key.in_(emails)),
        select(*columns).where(*_live(agent_id), Client.phone_digits.in_(phones)),
    )
    by_email: dict[str, uuid.UUID] = {}
    by_phone: dict[str, uuid.UUID] = {}
    for client_id, key, digits in (await session.execute(statement)).all():
        if key is not None:
            by_email.setdefault(key, client_id)
        by_phone.setdefault(digits, client_id)
    return by_email, by_phone


async def lock_agent_clients(session: AsyncSession, agent_id: uuid.UUID) -> None:
    """One writer of new clients at a time per agent (an import's batch, a lead), until the
    transaction ends: duplicates are judged against committed rows."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"client-import:{agent_id}"},
    )


async def copy_clients(session: AsyncSession, records: Iterable[Sequence[Any]]) -> None:
    """Append clients (``CLIENT_COLUMNS`` records) with COPY: an import's batch."""
    await copy_rows(session, "clients", CLIENT_COLUMNS, records)
