"""API keys an agent creates for other systems, and the lead ids those systems sent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, uuid_pk


class ApiKey(Base):
    """One key, stored as the SHA-256 of the secret (256 random bits: a slow hash adds
    nothing); ``prefix`` is the part shown to tell keys apart."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    lead_plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plans.id", ondelete="SET NULL")
    )
    """The plan a lead posted with this key is put on (besides the stage's plans)."""
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ClientLeadId(Base):
    """A lead source's own id for one of the agent's clients: posting the same lead again
    updates that client."""

    __tablename__ = "client_lead_ids"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    lead_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
