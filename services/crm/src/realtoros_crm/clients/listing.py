"""The client list: filters, search, sort and keyset pagination (a cursor names the last
row of a page, so page 2 starts exactly after page 1 however many rows came in since)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field
from sqlalchemy import (
    ColumnElement,
    Numeric,
    Row,
    Select,
    case,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import STAGES, Client, Stage
from realtoros_crm.fields import InputModel

FieldCondition = Annotated[
    str,
    Field(max_length=200, pattern=r"^[a-z][a-z0-9_]{0,59}(=|>=|<=)[^\x00]{1,100}$"),
]
_CONDITION = re.compile(r"^([a-z][a-z0-9_]*)(>=|<=|=)(.+)$", re.DOTALL)  # as the pattern: any value

SortKey = Literal["created_at", "name", "last_contacted_at", "stage"]
Order = Literal["asc", "desc"]


class InvalidCursor(ValueError):
    """The cursor is not one this list returned (or belongs to another sort)."""


class ClientFilter(InputModel):
    """The list's query parameters (also those of the CSV export)."""

    q: str | None = Field(
        default=None,
        max_length=200,
        description="Search the name, email, phone and address: every word of the query "
        "starts a word of them (any order, any case; punctuation separates words, so "
        "'casa.example' and '010-0142' work); digits also match anywhere in the phone.",
    )
    stage: list[Stage] = Field(default_factory=list, description="Any of these stages.")
    tag: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=10)] = Field(
        default_factory=list, description="Clients with every one of these tags."
    )
    source: str | None = Field(default=None, max_length=100)
    unsubscribed: bool | None = None
    field: Annotated[list[FieldCondition], Field(max_length=10)] = Field(
        default_factory=list,
        description="Custom field conditions, all of them: `key=value` (any case), "
        "`key>=value` or `key<=value` (numbers as numbers, dates as YYYY-MM-DD).",
    )
    deleted: bool = Field(default=False, description="true: the deleted clients (to restore).")
    sort: SortKey = "created_at"
    order: Order = "asc"


def _sort_column(sort: SortKey) -> Any:
    return {
        "created_at": Client.created_at,
        "name": Client.name,
        "last_contacted_at": Client.last_contacted_sort,
        "stage": Client.stage_rank,
    }[sort]


class ListedRow(Protocol):
    """What the cursor needs of a listed row: a ``Client``, or a row of the listed columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def name(self) -> str: ...
    @property
    def stage(self) -> str: ...
    @property
    def last_contacted_at(self) -> datetime | None: ...


def _sort_value(client: ListedRow, sort: SortKey) -> Any:
    if sort == "created_at":
        return client.created_at.isoformat()
    if sort == "name":
        return client.name
    if sort == "stage":
        return STAGES.index(client.stage) + 1
    at = client.last_contacted_at
    return at.isoformat() if at is not None else None


def encode_cursor(client: ListedRow, where: ClientFilter) -> str:
    raw = json.dumps([where.sort, where.order, _sort_value(client, where.sort), str(client.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, where: ClientFilter) -> tuple[Any, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, order, value, client_id = json.loads(raw)
        parsed_id = uuid.UUID(client_id)
        if (sort, order) != (where.sort, where.order):
            raise InvalidCursor("the cursor belongs to another sort order")
        if sort == "created_at" or (sort == "last_contacted_at" and value is not None):
            value = datetime.fromisoformat(value)
        elif sort == "last_contacted_at":
            value = literal_column("'-infinity'::timestamptz")
        elif not isinstance(value, str if sort == "name" else int):
            raise InvalidCursor("the cursor is damaged")
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise InvalidCursor("the cursor is damaged: use next_cursor as returned") from exc
    return value, parsed_id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(agent_id: uuid.UUID, where: ClientFilter) -> list[ColumnElement[bool]]:
    gone = Client.deleted_at.is_not(None) if where.deleted else Client.deleted_at.is_(None)
    conditions = [Client.agent_id == agent_id, gone]
    if where.q and where.q.strip():
        conditions.append(search_condition(where.q))
    if where.stage:
        conditions.append(Client.stage.in_(where.stage))
    if where.tag:
        conditions.append(Client.tags.contains(where.tag))
    if where.source:
        conditions.append(Client.source.ilike(_escape_like(where.source), escape="\\"))
    if where.unsubscribed is not None:
        conditions.append(Client.unsubscribed.is_(where.unsubscribed))
    conditions.extend(_field_condition(text) for text in where.field)
    return conditions


def search_condition(q: str) -> ColumnElement[bool]:
    """Clients with every word of ``q`` at the start of a word of their name, email, phone
    or address; digits (``555-0142``) also anywhere in their phone number. Full-text search
    through the GIN index (migration 0014 has both functions); no word at all: no client."""
    matches: ColumnElement[bool] = Client.search_vector.bool_op("@@")(
        func.client_search_query(q.strip())
    )
    return matches


def _field_condition(text: str) -> ColumnElement[bool]:
    """``key=value`` compares as text (any case); ``>=``/``<=`` compares numbers when the
    value is one (only the clients whose value is a JSON number), else text (ISO dates
    order as text)."""
    match = _CONDITION.match(text)
    assert match is not None  # the pattern of FieldCondition
    key, op, value = match.groups()
    stored = Client.custom_fields[key]
    as_text = stored.astext
    if op == "=":
        equal: ColumnElement[bool] = func.lower(as_text) == value.strip().lower()
        return equal
    try:
        number = float(value)
    except ValueError:
        by_text: ColumnElement[bool] = as_text >= value if op == ">=" else as_text <= value
        return by_text
    as_number = case((func.jsonb_typeof(stored) == "number", cast(as_text, Numeric)), else_=None)
    return as_number >= number if op == ">=" else as_number <= number


def list_statement(
    agent_id: uuid.UUID,
    where: ClientFilter,
    *,
    limit: int,
    cursor: str | None,
    columns: Sequence[Any] = (Client,),
) -> Select[Any]:
    column = _sort_column(where.sort)
    conditions = _conditions(agent_id, where)
    if cursor:
        value, after_id = _decode_cursor(cursor, where)
        key, bound = tuple_(column, Client.id), tuple_(value, after_id)
        conditions.append(key > bound if where.order == "asc" else key < bound)
    return select(*columns).where(*conditions).order_by(*_ordering(column, where)).limit(limit)


def _ordering(column: Any, where: ClientFilter) -> tuple[Any, Any]:
    """The page's order (the sort's column, then the id) — the one place it is decided.

    With a search, the order is written so that no index can deliver it: the planner then
    finds the matches through the search's GIN index and sorts those few. Otherwise it may
    walk the agent's whole sort index backwards, testing every row, because it cannot
    estimate how rare a prefix query's matches are (it guesses 2 % of the rows: 0.8 s at
    100,000 clients instead of 1 ms). ``coalesce(x, x)`` is ``x``, opaque to the planner.
    """
    key = func.coalesce(column, column) if where.q and where.q.strip() else column
    if where.order == "asc":
        return key.asc(), Client.id.asc()
    return key.desc(), Client.id.desc()


async def list_clients(
    session: AsyncSession,
    agent_id: uuid.UUID,
    where: ClientFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[Sequence[Client], str | None]:
    """One page and the cursor of the next (None on the last page)."""
    statement = list_statement(agent_id, where, limit=limit + 1, cursor=cursor)
    rows = list((await session.scalars(statement)).all())
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1], where) if more and page else None


async def list_client_rows(
    session: AsyncSession,
    agent_id: uuid.UUID,
    where: ClientFilter,
    *,
    columns: Sequence[Any],
    limit: int,
    cursor: str | None = None,
) -> tuple[Sequence[Row[Any]], str | None]:
    """``list_clients`` as rows of ``columns`` (which include those of ``ListedRow``): no
    ORM objects, for a page that is only read and sent."""
    statement = list_statement(agent_id, where, limit=limit + 1, cursor=cursor, columns=columns)
    rows = (await session.execute(statement)).all()
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1], where) if more and page else None
