"""The agents' clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

Stage = Literal["lead", "prospect", "negotiating", "under_contract", "closed", "lost"]
STAGES: tuple[str, ...] = get_args(Stage)
INACTIVE_STAGES = frozenset({"closed", "lost"})
"""Clients in these stages get no more follow-ups."""


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(f"stage IN ({in_list(STAGES)})", name="stage"),
        Index("ix_clients_agent_id_created_at", "agent_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20), default="lead", server_default="lead")
    property_address: Mapped[str | None] = mapped_column(String(500))
    property_type: Mapped[str | None] = mapped_column(String(40))
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

    def no_follow_up_reason(self) -> str | None:
        """Why this client must get no follow-up email now, or None."""
        if self.deleted_at is not None:
            return "client deleted"
        if self.unsubscribed:
            return "client unsubscribed"
        if self.stage in INACTIVE_STAGES:
            return f"client stage is {self.stage}"
        return None
