"""Throttling failed sign-ins per email address and per client address, in PostgreSQL so
that every replica sees the same count. An unknown address is throttled exactly like a
known one: a 429 must not reveal that an account exists."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.tokens_models import LoginFailure


def email_key(email: str) -> str:
    # A hash, not the address: the table must not become a list of who tried to sign in.
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def ip_key(address: str) -> str:
    return "ip:" + address[:90]


@dataclass(frozen=True)
class Throttle:
    window: timedelta
    max_per_email: int
    max_per_ip: int

    def _limits(self, email: str | None, ip: str) -> list[tuple[str, int]]:
        limits = [(ip_key(ip), self.max_per_ip)]
        if email is not None:
            limits.append((email_key(email), self.max_per_email))
        return limits

    async def retry_after(
        self, session: AsyncSession, *, email: str | None, ip: str, now: datetime
    ) -> int | None:
        """Seconds until a sign-in may be tried again, or None when it may be tried now."""
        since = now - self.window
        waits = []
        for key, limit in self._limits(email, ip):
            statement = select(func.count(), func.min(LoginFailure.failed_at)).where(
                LoginFailure.key == key, LoginFailure.failed_at > since
            )
            count, oldest = (await session.execute(statement)).one()
            if count >= limit and oldest is not None:
                waits.append(max(1, math.ceil((oldest + self.window - now).total_seconds())))
        return max(waits) if waits else None

    async def record_failure(
        self, session: AsyncSession, *, email: str | None, ip: str, now: datetime
    ) -> None:
        keys = [key for key, _ in self._limits(email, ip)]
        await session.execute(
            delete(LoginFailure).where(
                LoginFailure.key.in_(keys), LoginFailure.failed_at <= now - self.window
            )
        )
        session.add_all([LoginFailure(key=key, failed_at=now) for key in keys])
        await session.flush()

    async def clear(self, session: AsyncSession, *, email: str) -> None:
        """A successful sign-in forgives the address's failures (not the client address's)."""
        await session.execute(delete(LoginFailure).where(LoginFailure.key == email_key(email)))
