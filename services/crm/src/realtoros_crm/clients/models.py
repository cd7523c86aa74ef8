"""The agents' clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

Stage = Literal["lead", "prospect", "negotiating", "under_contract", "closed", "lost"]
STAGES: tuple[str, ...] = get_args(Stage)
INACTIVE_STAGES = frozenset({"closed", "lost"})
"""Clients in these stages get no more follow-ups."""
PropertyType = Literal["residential", "commercial", "land", "other"]
PROPERTY_TYPES: tuple[str, ...] = get_args(PropertyType)

# Generated columns: PostgreSQL keeps them in step with the row, so the list, the search
# and the duplicate checks use plain indexes instead of expression indexes.
_STAGE_RANK = (
    "CASE stage "
    + " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(STAGES, start=1))
    + " ELSE 0 END"
)
_PHONE_DIGITS = "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')"
_SEARCH_VECTOR = "client_search_vector(name, email, phone, property_address)"
"""Migration 0014 defines the function: the words of these fields, and the phone's digits."""


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(f"stage IN ({in_list(STAGES)})", name="stage"),
        CheckConstraint(
            f"property_type IS NULL OR property_type IN ({in_list(PROPERTY_TYPES)})",
            name="property_type",
        ),
        # A phone-only lead is a client; one with neither cannot be reached at all.
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="email_or_phone"),
        # The list's sort orders, each with the id as tie-breaker (keyset pagination).
        Index("ix_clients_agent_id_created_at", "agent_id", "created_at", "id"),
        Index("ix_clients_agent_id_name", "agent_id", "name", "id"),
        Index("ix_clients_agent_id_stage_rank", "agent_id", "stage_rank", "id"),
        Index("ix_clients_agent_id_last_contacted_sort", "agent_id", "last_contacted_sort", "id"),
        Index("ix_clients_agent_id_email_key", "agent_id", "email_key"),
        Index("ix_clients_agent_id_phone_digits", "agent_id", "phone_digits"),
        Index("ix_clients_tags", "tags", postgresql_using="gin"),
        # fastupdate off: a pending list of edits is read in full by every search (and
        # made the planner give the index up for a scan of every row).
        Index(
            "ix_clients_search_vector",
            "search_vector",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    """None for a phone-only lead: its email steps are skipped, with that reason."""
    phone: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20), default="lead", server_default="lead")
    property_address: Mapped[str | None] = mapped_column(String(500))
    property_type: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    notes: Mapped[str | None] = mapped_column(Text)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    """IANA time zone; None means the agent's."""
    unsubscribed: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    last_contacted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    deleted_at: Mapped[datetime | None]

    email_key: Mapped[str | None] = mapped_column(
        String(320), Computed("lower(btrim(email))", persisted=True)
    )
    """The email address as duplicates are detected: trimmed, lower case."""
    phone_digits: Mapped[str] = mapped_column(Text, Computed(_PHONE_DIGITS, persisted=True))
    stage_rank: Mapped[int] = mapped_column(SmallInteger, Computed(_STAGE_RANK, persisted=True))
    """The stage's place in the pipeline (lead = 1 … lost = 6): the stage sort order."""
    last_contacted_sort: Mapped[datetime] = mapped_column(
        Computed("coalesce(last_contacted_at, '-infinity'::timestamptz)", persisted=True)
    )
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(_SEARCH_VECTOR, persisted=True), deferred=True
    )
    """What the list's search matches (``client_search_query``, migration 0014): full-text
    search, which every PostgreSQL has, through a GIN index. Deferred: never loaded."""

    def no_email_reason(self) -> str | None:
        """Why no email can go to this client now (no address, or no follow-ups), or None."""
        return self.no_follow_up_reason() or (None if self.email else NO_EMAIL)

    def no_follow_up_reason(self) -> str | None:
        """Why this client must get no follow-up email now, or None."""
        return no_follow_up_reason(self.stage, self.unsubscribed, self.deleted_at)


NO_EMAIL = "client has no email address"


def no_follow_up_reason(stage: str, unsubscribed: bool, deleted_at: datetime | None) -> str | None:
    """Why a client in this state must get no follow-up email now, or None."""
    if deleted_at is not None:
        return "client deleted"
    if unsubscribed:
        return "client unsubscribed"
    if stage in INACTIVE_STAGES:
        return f"client stage is {stage}"
    return None
