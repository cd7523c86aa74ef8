"""The emails the CRM asked for: one per claimed task, its id assigned at the claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

EmailStatus = Literal[
    "composing", "awaiting_approval", "sending", "sent", "failed", "unknown", "skipped"
]
EMAIL_STATUSES: tuple[str, ...] = get_args(EmailStatus)


class Email(Base):
    __tablename__ = "emails"
    __table_args__ = (
        CheckConstraint(f"status IN ({in_list(EMAIL_STATUSES)})", name="status"),
        # The dashboard counts an agent's emails sent in a period.
        Index("ix_emails_agent_id_sent_at", "agent_id", "sent_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="composing")
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
    composer: Mapped[str | None] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(200))
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    review_reasons: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    transport: Mapped[str | None] = mapped_column(String(20))
    sent_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    """When the agent last edited the draft (the approved text is the edited one)."""
    approved_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    delivery_delayed_at: Mapped[datetime | None]
    first_opened_at: Mapped[datetime | None]
    open_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    first_clicked_at: Mapped[datetime | None]
    click_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    bounced_at: Mapped[datetime | None]
    bounce_type: Mapped[str | None] = mapped_column(String(20))
    complained_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    """When the client last replied to it."""
    held_at: Mapped[datetime | None]
    """A draft awaiting approval put on hold because the client replied meanwhile."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
