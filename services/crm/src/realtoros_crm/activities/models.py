"""The client timeline: what happened with a client, newest last."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, uuid_pk


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_client_id_occurred_at", "client_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text)
    email_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("emails.id", ondelete="SET NULL"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(40))
    """A logged call's outcome (connected, left voicemail, no answer …)."""
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    """A logged call's or meeting's length."""
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    """Write order: breaks ties between activities of one transaction (same time)."""
