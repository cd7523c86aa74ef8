"""Saved lists: a client-list filter kept under a name ("hot buyers in Salem")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, uuid_pk


class SavedList(Base):
    __tablename__ = "saved_lists"
    __table_args__ = (UniqueConstraint("agent_id", "name", name="uq_saved_lists_agent_id_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """A ``ClientFilter`` as JSON (validated again whenever it is used)."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
