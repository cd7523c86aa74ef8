"""Replies from clients (and their automatic answers), as the mailer received them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, uuid_pk

REPLY_KINDS = ("reply", "auto-reply")
REPLY_KIND = "client_replied"
"""The timeline kind of a person's reply (the composer's ``latest_reply`` looks for it)."""


class Reply(Base):
    __tablename__ = "replies"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'auto-reply')", name="kind"),
        # The dashboard lists an agent's unanswered replies, newest first.
        Index(
            "ix_replies_agent_id_unanswered",
            "agent_id",
            "received_at",
            postgresql_where=text("answered_at IS NULL AND kind = 'reply'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    email_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("emails.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    matched_by: Mapped[str] = mapped_column(String(20))
    from_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[str]] = mapped_column(JSONB, default=list)
    verdicts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    unsubscribe_requested: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    """When the agent marked it answered (or answered by email through RealtorOS)."""
    created_at: Mapped[datetime] = created_at_column()
