"""The custom fields an agent defines once (text, number, date, choice) for every client."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

FieldType = Literal["text", "number", "date", "choice"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)


class CustomField(Base):
    __tablename__ = "custom_fields"
    __table_args__ = (
        CheckConstraint(f"field_type IN ({in_list(FIELD_TYPES)})", name="field_type"),
        UniqueConstraint("agent_id", "key", name="uq_custom_fields_agent_id_key"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    """The name in ``clients.custom_fields`` and in templates (``{{birthday}}``)."""
    label: Mapped[str] = mapped_column(String(100))
    field_type: Mapped[str] = mapped_column(String(10))
    choices: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    created_at: Mapped[datetime] = created_at_column()
