"""CSV import jobs: progress and the report an agent reads back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, in_list, uuid_pk

ImportStatus = Literal["queued", "running", "completed", "failed"]
IMPORT_STATUSES: tuple[str, ...] = get_args(ImportStatus)


class ClientImport(Base):
    __tablename__ = "client_imports"
    __table_args__ = (
        CheckConstraint(f"status IN ({in_list(IMPORT_STATUSES)})", name="status"),
        Index("ix_client_imports_agent_id_created_at", "agent_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, str]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    report: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    """``skipped`` (row, reason) and ``duplicates`` (row, matched client), capped."""
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
