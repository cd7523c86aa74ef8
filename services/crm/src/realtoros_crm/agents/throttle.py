"""Throttling failed sign-ins so that nobody else can lock an agent out.

The OWASP Authentication Cheat Sheet warns that a plain per-account lockout hands an
attacker a denial of service: five wrong passwords from anywhere would keep the agent out
of their own account. So the limits are (OWASP "Protect against automated attacks",
and its device-cookie pattern):

- per **(account, client address) pair** (``login_max_failures``, 5): guessing from one
  place stops there, and only there;
- per **client address** (``login_max_failures_per_ip``, 30): one place guessing many
  accounts stops;
- per **account**, larger (``login_max_failures_per_account``, 100): a guess spread over
  many addresses stops too, but only for *unknown devices*;
- a **device** that signed in to the account before carries a signed device cookie
  (``devices``): it is held only to its own limit (the pair limit, counted per device),
  so an attacker elsewhere — whatever they spend — cannot block the agent's own browser
  or app. The agent's device is not exempt from its own mistakes.

Counted in PostgreSQL so every replica sees the same numbers. An unknown address is
throttled exactly like a known one: a 429 must not reveal that an account exists.
Keys are hashes: the table must not become a list of who tried to sign in.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.repository import add_failures, count_failures, delete_failures


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def email_key(email: str) -> str:
    return "email:" + _digest(email.strip().lower())


def pair_key(email: str, ip: str) -> str:
    return "pair:" + _digest(email.strip().lower(), ip)


def ip_key(address: str) -> str:
    return "ip:" + address[:90]


def device_key(device: str) -> str:
    return "device:" + _digest(device)


@dataclass(frozen=True)
class Attempt:
    """Who tries to sign in: from where, as which account (None: a registration), on which
    known device (the id of a verified device cookie of that account)."""

    ip: str
    email: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Throttle:
    window: timedelta
    max_per_pair: int
    max_per_ip: int
    max_per_account: int

    def _limits(self, attempt: Attempt) -> list[tuple[str, int]]:
        email, ip, device = attempt.email, attempt.ip, attempt.device
        if email is not None and device is not None:  # a known device of this account
            return [(device_key(device), self.max_per_pair)]
        limits = [(ip_key(ip), self.max_per_ip)]
        if email is not None:
            limits.append((pair_key(email, ip), self.max_per_pair))
            limits.append((email_key(email), self.max_per_account))
        return limits

    async def retry_after(
        self, session: AsyncSession, attempt: Attempt, now: datetime
    ) -> int | None:
        """Seconds until a sign-in may be tried again, or None when it may be tried now."""
        since = now - self.window
        waits = []
        for key, limit in self._limits(attempt):
            count, oldest = await count_failures(session, key, since)
            if count >= limit and oldest is not None:
                waits.append(max(1, math.ceil((oldest + self.window - now).total_seconds())))
        return max(waits) if waits else None

    async def record_failure(self, session: AsyncSession, attempt: Attempt, now: datetime) -> None:
        keys = [key for key, _ in self._limits(attempt)]
        await delete_failures(session, keys, until=now - self.window)
        await add_failures(session, keys, now)

    async def clear(self, session: AsyncSession, attempt: Attempt) -> None:
        """A successful sign-in forgives this place's and this device's failures (not the
        account's: those may be an attacker's, elsewhere)."""
        keys = [pair_key(attempt.email or "", attempt.ip)]
        keys += [device_key(attempt.device)] if attempt.device else []
        await delete_failures(session, keys)
