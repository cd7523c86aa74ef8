"""A lead as posted (a JSON object, or an HTML form's fields) → the client it describes.
Field names are read the way the CSV import reads column headers ("First Name", "Email 1",
"Phone" …), so Zapier, Make, a website form or a portal's feed need no mapping; fields
the import does not know become custom fields. Everything here is untrusted and bounded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from realtoros_crm.clients.schemas import ClientCreate
from realtoros_crm.imports.mapping import auto_mapping
from realtoros_crm.imports.rows import client_fields

MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 100
MAX_VALUE = 10_000
RESERVED = {"lead_id", "source", "redirect_to", "key"}
"""Fields about the lead itself, not the client."""


class BadLead(ValueError):
    """The body is not a lead this endpoint can read (the message says why)."""


@dataclass(frozen=True)
class Lead:
    client: ClientCreate
    lead_id: str | None
    source: str | None
    redirect_to: str | None
    sent_fields: frozenset[str]
    """The client fields the post filled (an update changes only those)."""


def parse_body(body: bytes, content_type: str) -> dict[str, str]:
    """The posted fields as text, from JSON or ``application/x-www-form-urlencoded``."""
    if len(body) > MAX_BODY_BYTES:
        raise BadLead(f"the lead is larger than {MAX_BODY_BYTES // 1024} KB")
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            pairs = parse_qsl(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
        except ValueError:
            raise BadLead(f"more than {MAX_FIELDS} fields") from None
        return dict(reversed(pairs))  # the first value of a repeated field wins
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            raise BadLead("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadLead("the body must be a JSON object of fields")
        return {str(name): _text(name, value) for name, value in data.items()}
    raise BadLead("send application/json or application/x-www-form-urlencoded")


def _text(name: str, value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str | int | float | bool) or value is None:
        return "" if value is None else str(value)
    raise BadLead(f"{name}: must be text, a number or a list of them")


def read_lead(fields: dict[str, str]) -> Lead:
    if len(fields) > MAX_FIELDS:
        raise BadLead(f"more than {MAX_FIELDS} fields")
    fields = {k.strip()[:60]: v.strip()[:MAX_VALUE] for k, v in fields.items() if v.strip()}
    about = {k: fields.pop(k) for k in RESERVED & fields.keys()}
    mapping = auto_mapping(list(fields))
    values = {target: fields[header] for header, target in mapping.items()}
    if "notes" not in values and "message" in fields:
        values["notes"] = fields.pop("message")
    custom = {k: v[:1000] for k, v in fields.items() if k not in mapping}
    if not values.get("email"):
        raise BadLead("email: a lead needs an email address")
    sent = set(values) | ({"custom_fields"} if custom else set())
    if not {"name", "first_name", "last_name"} & sent:
        values["name"] = values["email"]  # a newsletter form asks for the address alone
    try:
        client = ClientCreate.model_validate(client_fields(values, custom))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadLead(f"{where}: {first['msg']}") from None
    if "first_name" in sent or "last_name" in sent:
        sent.add("name")
    return Lead(
        client=client,
        lead_id=about.get("lead_id", "")[:200] or None,
        source=about.get("source", "")[:100] or None,
        redirect_to=about.get("redirect_to"),
        sent_fields=frozenset(sent),
    )
