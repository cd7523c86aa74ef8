"""Which dead letters are stale: not worth replaying, whatever failed.

* A tick: the next tick covers it (ticks are no longer dead-lettered, but a stream from
  before may hold some).
* An event about an email, task or client that no longer exists in the CRM's database
  (deleted since; a deleted client counts): its effect has nobody to apply to. Checked
  only when the CRM's database URL is given.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import asyncpg

TICK_TYPE = "realtoros.scheduler.tick.v1"

_EXISTS = {
    "email_id": "SELECT EXISTS (SELECT 1 FROM emails WHERE id = $1::uuid)",
    "task_id": "SELECT EXISTS (SELECT 1 FROM tasks WHERE id = $1::uuid)",
    "client_id": "SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1::uuid AND deleted_at IS NULL)",
}


class Letter(Protocol):
    @property
    def headers(self) -> dict[str, str]: ...

    @property
    def body(self) -> bytes: ...

    def header(self, name: str) -> str: ...


class Staleness:
    """Says why a dead letter is stale, or None when it is worth replaying."""

    def __init__(self, database: asyncpg.Connection | None = None) -> None:
        self._database = database

    async def reason(self, letter: Letter) -> str | None:
        subject = letter.header("subject")
        if letter.headers.get("ce-type") == TICK_TYPE or ".scheduler.tick." in subject:
            return "a tick (the next tick covers it)"
        if self._database is None:
            return None
        body = _json(letter.body)
        for field, query in _EXISTS.items():
            value = body.get(field)
            if isinstance(value, str) and not await self._exists(query, value):
                return f"its {field.removesuffix('_id')} {value} no longer exists"
        return None

    async def _exists(self, query: str, value: str) -> bool:
        assert self._database is not None
        try:
            return bool(await self._database.fetchval(query, value))
        except asyncpg.DataError:  # not a UUID: nothing to compare it with
            return True


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
