"""The agent's custom field definitions, and the values a client may hold in them: each
defined field's value is checked against its type (a date is stored as ``YYYY-MM-DD``, a
number as a JSON number); names the agent never defined stay free text. Flushes only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.customfields.models import CustomField
from realtoros_crm.customfields.repository import get_field as get_field
from realtoros_crm.customfields.repository import list_fields as list_fields
from realtoros_crm.customfields.schemas import CustomFieldCreate, CustomFieldUpdate
from realtoros_crm.db import add_row, delete_row

DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%B %d, %Y", "%b %d, %Y")


class FieldValueInvalid(ValueError):
    """A value does not fit its field's type (the API answers 422 with this message)."""


class FieldConflict(Exception):
    """The agent already has a field with this key (409)."""


async def create_field(
    session: AsyncSession, agent_id: uuid.UUID, data: CustomFieldCreate, now: datetime
) -> CustomField:
    if any(f.key == data.key for f in await list_fields(session, agent_id)):
        raise FieldConflict(f"you already have a field '{data.key}'")
    return await add_row(
        session, CustomField(agent_id=agent_id, created_at=now, **data.model_dump())
    )


async def delete_field(session: AsyncSession, field: CustomField) -> None:
    """Forget the definition; clients keep their values (as free text)."""
    await delete_row(session, field)


def update_field(field: CustomField, data: CustomFieldUpdate) -> None:
    if data.label is not None:
        field.label = data.label
    if data.choices is not None:
        if field.field_type != "choice":
            raise FieldValueInvalid("only a choice field has choices")
        if not data.choices:
            raise FieldValueInvalid("a choice field needs its choices")
        field.choices = list(dict.fromkeys(data.choices))


def parse_date(text: str) -> date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise FieldValueInvalid(f"'{text[:40]}' is not a date (use YYYY-MM-DD)")


def typed_value(field: CustomField, value: Any) -> str | int | float:
    """``value`` as the field stores it, or :class:`FieldValueInvalid`."""
    name = field.label
    if field.field_type == "number":
        if isinstance(value, bool):
            raise FieldValueInvalid(f"{name} must be a number")
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            raise FieldValueInvalid(f"{name} must be a number, not '{str(value)[:40]}'") from None
        return int(number) if number.is_integer() else number
    text = str(value).strip()
    if field.field_type == "date":
        try:
            return parse_date(text).isoformat()
        except FieldValueInvalid:
            raise FieldValueInvalid(f"{name} must be a date (YYYY-MM-DD)") from None
    if field.field_type == "choice" and text not in field.choices:
        raise FieldValueInvalid(f"{name} must be one of: {', '.join(field.choices)}")
    return text


def typed_values(
    fields: Sequence[CustomField], values: dict[str, Any]
) -> dict[str, str | int | float | bool]:
    """The client's custom field values with the defined ones checked and converted; an
    empty value removes the field."""
    by_key = {field.key: field for field in fields}
    result: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        field = by_key.get(key)
        result[key] = typed_value(field, value) if field is not None else value
    return result


async def check_values(
    session: AsyncSession, agent_id: uuid.UUID, values: dict[str, Any]
) -> dict[str, str | int | float | bool]:
    return typed_values(await list_fields(session, agent_id), values)
