"""From CSV bytes to validated client rows, or the reason a row is skipped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from realtoros_crm.clients.schemas import ClientCreate
from realtoros_crm.customfields.models import CustomField
from realtoros_crm.customfields.service import FieldValueInvalid, typed_value
from realtoros_crm.imports.mapping import (
    BIRTHDAY_FIELD,
    FIELD_PREFIX,
    birthday_of,
    property_type_of,
    split_tags,
    stage_of,
)

MAX_CUSTOM_FIELDS = 50


class UnreadableFile(ValueError):
    """Not a CSV file this import can read (the message says why)."""


@dataclass
class Parsed:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Checked:
    valid: list[tuple[int, ClientCreate]] = field(default_factory=list)
    """(row number in the file, counting the header as row 1, client)."""
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def parse_csv(content: bytes, max_rows: int) -> Parsed:
    text = _decode(content).replace("\x00", "")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        headers = [h.strip() for h in next(reader, [])]
        rows = []
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) > max_rows:
                raise UnreadableFile(f"the file has more than {max_rows} rows: split it")
    except csv.Error as exc:
        raise UnreadableFile(f"not a readable CSV file: {exc}") from None
    if not any(headers):
        raise UnreadableFile("the file is empty or has no header row")
    return Parsed(headers, rows)


def _fields(values: dict[str, str], custom: dict[str, Any]) -> dict[str, Any]:
    name = values.get("name") or " ".join(
        part for part in (values.get("first_name"), values.get("last_name")) if part
    )
    data: dict[str, Any] = {"name": name, "email": values.get("email") or None}
    for key in ("phone", "property_address", "source", "notes", "timezone"):
        if values.get(key):
            data[key] = values[key]
    if values.get("stage"):
        data["stage"] = stage_of(values["stage"]) or "lead"
    if values.get("property_type"):
        data["property_type"] = property_type_of(values["property_type"])
    if values.get("tags"):
        data["tags"] = split_tags(values["tags"])
    if custom:
        data["custom_fields"] = dict(list(custom.items())[:MAX_CUSTOM_FIELDS])
    return data


FIELD_WORDS = {
    "email": "email address",
    "phone": "phone number",
    "timezone": "time zone",
    "property_address": "property address",
    "property_type": "property type",
    "custom_fields": "extra columns",
}


def _reason(error: ValidationError) -> str:
    """Why a row was skipped, in the agent's words (the validator's own as the detail)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    if where == "name":
        return "no name"
    if where == "email" and first["type"] == "missing":
        return "no email address"
    detail = str(first["msg"]).removeprefix("Value error, ").rsplit(": ", 1)[-1].rstrip(".")
    if where == "row":  # the row as a whole (no email and no phone …): its own words
        return str(first["msg"]).removeprefix("Value error, ")
    detail = detail[:1].lower() + detail[1:]
    field = FIELD_WORDS.get(where.split(".")[0], where.replace("_", " "))
    return f"the {field} is not valid ({detail})"


def _row_values(
    row: list[str], columns: list[tuple[int, str, str | None]], fields: dict[str, CustomField]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The row's client fields and custom fields (typed where the agent defined them);
    :class:`FieldValueInvalid` for a value that does not fit its field."""
    values: dict[str, str] = {}
    custom: dict[str, Any] = {}
    for i, header, target in columns:
        cell = row[i].strip() if i < len(row) else ""
        if not cell or target == "ignore":
            continue
        if target is not None and target.startswith(FIELD_PREFIX):
            key = target.removeprefix(FIELD_PREFIX)
            custom[key] = typed_value(fields[key], cell[:1000])
        elif target == "birthday":  # a text custom field; map to a date field to type it
            custom[BIRTHDAY_FIELD] = birthday_of(cell)[:1000]
        elif target is None or target == "custom":
            if header:
                custom[header[:60]] = cell[:1000]
        elif target not in values:
            values[target] = cell
    return values, custom


def check_rows(
    parsed: Parsed,
    mapping: dict[str, str],
    start: int = 0,
    stop: int | None = None,
    fields: dict[str, CustomField] | None = None,
) -> Checked:
    """Validate the rows ``[start:stop]`` (every row by default) as new clients; columns
    mapped to a custom field are read as its type (``fields``: the agent's, by key);
    unmapped columns become free-text custom fields."""
    columns = [(i, h, mapping.get(h)) for i, h in enumerate(parsed.headers)]
    checked = Checked()
    for number, row in enumerate(parsed.rows[start:stop], start=2 + start):
        try:
            values, custom = _row_values(row, columns, fields or {})
        except FieldValueInvalid as exc:
            checked.skipped.append({"row": number, "reason": str(exc)})
            continue
        if not values.get("email") and not values.get("phone"):
            checked.skipped.append({"row": number, "reason": "no email address or phone"})
            continue
        try:
            client = ClientCreate.model_validate(_fields(values, custom))
        except ValidationError as exc:
            checked.skipped.append({"row": number, "reason": _reason(exc)})
            continue
        checked.valid.append((number, client))
    return checked
