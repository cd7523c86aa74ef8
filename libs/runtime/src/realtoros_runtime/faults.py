"""Is a failure the message's fault or a dependency's? Decided once, here, for every consumer.

* ``TRANSIENT``: a dependency is unavailable (connection refused or reset, a timeout, a
  PostgreSQL failover, shutdown or serialization conflict, a NATS timeout or "no
  responders"). The message is fine: retry it for as long as the outage lasts, never count
  it toward dead-lettering.
* ``PERMANENT``: the message can never succeed (its envelope or body fails validation, it
  names an unknown schema): dead-letter it at once with the reason.
* ``OTHER``: anything else (a bug, an unexpected state): bounded retries, then a dead letter.

The cause chain (``__cause__`` / ``__context__``) is walked, because SQLAlchemy wraps the
driver's error and handlers may wrap either. Database errors are recognised by their
SQLSTATE (asyncpg and psycopg both expose ``sqlstate``), so this module imports no driver.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

from nats import errors as nats_errors
from nats.js import errors as js_errors
from pydantic import ValidationError

from realtoros_contracts import EnvelopeError


class Fault(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    OTHER = "other"


class Unprocessable(Exception):
    """Raised by a handler for a message that can never succeed (dead-lettered at once)."""


# SQLSTATE classes and codes that say "the database is not there right now", not "this
# statement is wrong": 08 connection exception, 40001 serialization failure, 40P01
# deadlock, 53 insufficient resources, 57P01-57P03 admin/crash shutdown and "cannot connect
# now", 25006 read-only transaction (a failover's demoted primary), 55P03 lock not available,
# 57014 statement timeout.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "25006", "55P03", "57014"}

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # asyncio.timeout and socket timeouts
    nats_errors.TimeoutError,
    nats_errors.NoRespondersError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionDrainingError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.StaleConnectionError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.NoServersError,
    js_errors.ServiceUnavailableError,
)

_PERMANENT_TYPES: tuple[type[BaseException], ...] = (EnvelopeError, ValidationError, Unprocessable)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return code if isinstance(code, str) and len(code) == 5 else None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if getattr(exc, "connection_invalidated", False):  # SQLAlchemy: the connection was lost
        return True
    code = _sqlstate(exc)
    if code is not None:
        return code in _TRANSIENT_SQLSTATES or code[:2] in _TRANSIENT_SQLSTATE_CLASSES
    # asyncpg's "connection was closed in the middle of operation" and friends carry no
    # SQLSTATE; SQLAlchemy's pool timeout neither.
    name = type(exc).__name__
    if name == "TimeoutError":  # e.g. SQLAlchemy's pool timeout
        return True
    return name in {"ConnectionDoesNotExistError", "InterfaceError"} and _says_connection(exc)


def _says_connection(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "connection" in text and ("closed" in text or "lost" in text or "refused" in text)


def classify(exc: BaseException) -> Fault:
    """The one answer to "retry, dead-letter at once, or bounded retries?"."""
    chain = list(_chain(exc))
    if any(isinstance(link, _PERMANENT_TYPES) for link in chain):
        return Fault.PERMANENT
    if any(_is_transient(link) for link in chain):
        return Fault.TRANSIENT
    return Fault.OTHER
