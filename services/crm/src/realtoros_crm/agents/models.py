"""The agents: the CRM's users, each with their own clients."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Literal, get_args

from sqlalchemy import CheckConstraint, Index, SmallInteger, String, Text, Time, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from realtoros_crm.db import Base, created_at_column, in_list, uuid_pk

SendMode = Literal["automatic", "approval"]
SEND_MODES: tuple[str, ...] = get_args(SendMode)
DEFAULT_SENDING_DAYS = (1, 2, 3, 4, 5, 6)
"""Monday to Saturday: agents work Saturdays, and clients read email then."""


MAX_SPREAD_MINUTES = 240
"""The most an agent may spread a step over (``send_spread_minutes``)."""


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(f"send_mode IN ({in_list(SEND_MODES)})", name="send_mode"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(320))
    # None for an account created by Google sign-in that never set a password.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    google_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The Google account linked to this agent (the ID token's ``sub``)."""
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(200))
    brokerage: Mapped[str | None] = mapped_column(String(200))
    bio: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(Text)
    tone: Mapped[str | None] = mapped_column(String(200))
    postal_address: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    send_mode: Mapped[str] = mapped_column(
        String(20), default="automatic", server_default="automatic"
    )
    # The sending window, in the client's time zone (the agent's when the client has none):
    # ISO weekdays (1 = Monday … 7 = Sunday) and the local hours [start, end).
    sending_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger),
        default=lambda: list(DEFAULT_SENDING_DAYS),
        server_default=text("'{1,2,3,4,5,6}'"),
    )
    sending_start: Mapped[time] = mapped_column(
        Time, default=time(9), server_default=text("'09:00'")
    )
    sending_end: Mapped[time] = mapped_column(
        Time, default=time(18), server_default=text("'18:00'")
    )
    send_spread_minutes: Mapped[int] = mapped_column(
        SmallInteger, default=0, server_default=text("0")
    )
    """Email steps due at the same time are spread over this many minutes after it, by client
    (``plans/window.py`` ``spread``); 0 sends them at the step's time."""
    replies_to_me: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    """Replies go straight to the agent's own address (and are not detected)."""
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


# One account per address whatever its case.
Index("uq_agents_email_lower", func.lower(Agent.email), unique=True)
