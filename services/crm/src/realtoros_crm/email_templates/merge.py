"""Merge fields: ``{{first_name}}`` in a template's subject and body, filled from the client,
the agent and the agent's custom fields. A template with a field the agent cannot fill is
refused when it is saved; one whose field is empty for a client is refused for that client
(:class:`MissingMergeFields`), so an email never goes out saying "Hi {{first_name}}"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

FIELD = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
BRACES = re.compile(r"\{\{|\}\}")
STANDARD = {
    "first_name": "the client's first name",
    "last_name": "the client's last name",
    "full_name": "the client's name",
    "property_address": "the client's property address",
    "agent_name": "your name",
    "agent_phone": "your phone",
    "agent_email": "your email address",
    "brokerage": "your brokerage",
}


class TemplateInvalid(ValueError):
    """The template cannot be saved as written (the message says why)."""


class MissingMergeFields(ValueError):
    """The client (or the agent) has no value for some of the template's fields."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class MergeClient(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def property_address(self) -> str | None: ...
    @property
    def custom_fields(self) -> dict[str, Any]: ...


class MergeAgent(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str: ...
    @property
    def brokerage(self) -> str | None: ...


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def fields_in(*texts: str) -> list[str]:
    """The merge fields the texts use, in order of first use."""
    return list(dict.fromkeys(name for text in texts for name in FIELD.findall(text)))


def check_template(subject: str, body: str, custom_keys: Iterable[str]) -> None:
    """:class:`TemplateInvalid` for an unknown field or a stray ``{{``/``}}``."""
    known = set(STANDARD) | set(custom_keys)
    unknown = [name for name in fields_in(subject, body) if name not in known]
    if unknown:
        listed = ", ".join("{{" + name + "}}" for name in unknown)
        raise TemplateInvalid(f"unknown merge field(s) {listed}: use {_known(known)}")
    for text in (subject, body):
        if BRACES.search(FIELD.sub("", text)):
            raise TemplateInvalid("a merge field is written {{name}}: a '{{' or '}}' is unpaired")


def _known(known: set[str]) -> str:
    return ", ".join("{{" + name + "}}" for name in sorted(known))


def merge_values(client: MergeClient, agent: MergeAgent) -> dict[str, str | None]:
    first, _, last = client.name.strip().partition(" ")
    values: dict[str, str | None] = {
        key: None if value is None else str(value) for key, value in client.custom_fields.items()
    }
    values.update(
        first_name=first or None,
        last_name=last.strip() or None,
        full_name=client.name,
        property_address=client.property_address,
        agent_name=agent.name,
        agent_phone=agent.phone,
        agent_email=agent.email,
        brokerage=agent.brokerage,
    )
    return values


def render(subject: str, body: str, values: Mapping[str, str | None]) -> Rendered:
    """The template filled in, or :class:`MissingMergeFields` naming every empty field."""
    missing = [name for name in fields_in(subject, body) if not (values.get(name) or "").strip()]
    if missing:
        raise MissingMergeFields(missing)
    return Rendered(_fill(subject, values, one_line=True), _fill(body, values, one_line=False))


def preview(subject: str, body: str, values: Mapping[str, str | None]) -> Rendered:
    """The template filled in as far as it can be: empty fields stay ``{{name}}``."""

    def fill(text: str, one_line: bool) -> str:
        def one(match: re.Match[str]) -> str:
            value = (values.get(match.group(1)) or "").strip()
            return _clean(value, one_line) if value else match.group(0)

        return FIELD.sub(one, text)

    return Rendered(fill(subject, True), fill(body, False))


def _fill(text: str, values: Mapping[str, str | None], *, one_line: bool) -> str:
    return FIELD.sub(lambda m: _clean((values.get(m.group(1)) or "").strip(), one_line), text)


def _clean(value: str, one_line: bool) -> str:
    """A value in a subject is one line (it becomes a header)."""
    if not one_line:
        return value
    return " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in value).split())
