"""From CSV bytes to validated client rows, or the reason a row is skipped.

Every line of the file is accounted for: a row is imported, or skipped with its reason
(an empty row included), or reported as a duplicate; the report gives the row's first
line in the file (quoted newlines make a row span several lines). The file is read with
the excel dialect (doubled quotes, quoted newlines); only the delimiter is chosen, from
the header line: a sniffer that guesses the quote rules from a sample split a field with
doubled quotes (a quoted, quoted "Comma, Inc") into two bogus rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from realtoros_crm.clients.models import STAGES
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


DELIMITERS = (",", ";", "\t")
TOO_LONG = "string_too_long"


@dataclass
class Parsed:
    headers: list[str]
    rows: list[list[str]]
    lines: list[int] = field(default_factory=list)
    """The file line each row starts on (the header is line 1)."""

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else index + 2


@dataclass
class Checked:
    valid: list[tuple[int, ClientCreate]] = field(default_factory=list)
    """(the row's line in the file, counting the header as line 1, client)."""
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)
    """Stage values no alias nor the agent's stage mapping knows, with their count."""


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _delimiter(text: str) -> str:
    """The delimiter of the header line: the candidate it has most of (outside quotes)."""
    header = next(csv.reader(io.StringIO(text, newline="")), [])
    line = ",".join(header) if len(header) > 1 else text.split("\n", 1)[0]
    counts = {d: line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(content: bytes, max_rows: int) -> Parsed:
    text = _decode(content).replace("\x00", "")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
        headers = [h.strip() for h in next(reader, [])]
        parsed = Parsed(headers, [], [])
        line = reader.line_num + 1
        for row in reader:
            parsed.rows.append(row)
            parsed.lines.append(line)
            line = reader.line_num + 1
            if len(parsed.rows) > max_rows:
                raise UnreadableFile(f"the file has more than {max_rows} rows: split it")
    except csv.Error as exc:
        raise UnreadableFile(f"not a readable CSV file: {exc}") from None
    if not any(headers):
        raise UnreadableFile("the file is empty or has no header row")
    return parsed


def client_fields(
    values: dict[str, str], custom: dict[str, Any], stages: dict[str, str] | None = None
) -> dict[str, Any]:
    """A ``ClientCreate``'s fields from cells by target field (see ``mapping``), the cells of
    unmapped columns (custom fields) and the agent's own stage names (``stages``)."""
    name = values.get("name") or " ".join(
        part for part in (values.get("first_name"), values.get("last_name")) if part
    )
    data: dict[str, Any] = {"name": name, "email": values.get("email") or None}
    for key in ("phone", "property_address", "source", "notes", "timezone"):
        if values.get(key):
            data[key] = values[key]
    if values.get("stage"):
        data["stage"] = (stages or {}).get(values["stage"]) or stage_of(values["stage"])
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
    if first["type"] == TOO_LONG:
        limit = (first.get("ctx") or {}).get("max_length")
        return f"{where}: too long" + (f" (at most {limit} characters)" if limit else "")
    if where == "name" and first["type"] in ("missing", "string_too_short"):
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


def unknown_stage(value: str) -> str:
    return (
        f"unknown stage {value[:60]!r}: map it to one of {', '.join(STAGES)} "
        '(stages, e.g. {"Warm": "prospect"}) and import the file again'
    )


def check_rows(
    parsed: Parsed,
    mapping: dict[str, str],
    start: int = 0,
    stop: int | None = None,
    fields: dict[str, CustomField] | None = None,
    stages: dict[str, str] | None = None,
) -> Checked:
    """Validate the rows ``[start:stop]`` (every row by default) as new clients; columns
    mapped to a custom field are read as its type (``fields``: the agent's, by key);
    unmapped columns become free-text custom fields; ``stages`` maps the file's stage
    names to ours."""
    columns = [(i, h, mapping.get(h)) for i, h in enumerate(parsed.headers)]
    checked = Checked()
    stop = len(parsed.rows) if stop is None else min(stop, len(parsed.rows))
    for index in range(start, stop):
        row, line = parsed.rows[index], parsed.line_of(index)
        if not any(cell.strip() for cell in row):
            checked.skipped.append({"row": line, "reason": "empty row"})
            continue
        try:
            values, custom = _row_values(row, columns, fields or {})
        except FieldValueInvalid as exc:
            checked.skipped.append({"row": line, "reason": str(exc)})
            continue
        if not values.get("email") and not values.get("phone"):
            checked.skipped.append({"row": line, "reason": "no email address or phone"})
            continue
        data = client_fields(values, custom, stages)
        if values.get("stage") and data["stage"] is None:
            checked.unknown_stages[values["stage"]] = (
                checked.unknown_stages.get(values["stage"], 0) + 1
            )
            checked.skipped.append({"row": line, "reason": unknown_stage(values["stage"])})
            continue
        try:
            client = ClientCreate.model_validate(data)
        except ValidationError as exc:
            checked.skipped.append({"row": line, "reason": _reason(exc)})
            continue
        checked.valid.append((line, client))
    return checked
