"""Refresh tokens and failed sign-ins: the state behind sessions and throttling."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, uuid_pk


class RefreshToken(Base):
    """One refresh token, stored as its SHA-256. Rotation replaces it with the next one of
    the same family; presenting a replaced token revokes the whole family (it was stolen)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    replaced_by: Mapped[uuid.UUID | None]


class LoginFailure(Base):
    """A failed sign-in, keyed by a hash of the email address or by the client address.
    In PostgreSQL, not in memory, so the limit holds across replicas."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    failed_at: Mapped[datetime]
