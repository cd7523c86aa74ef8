"""JSON Schemas of the events, for subscribers written in other languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from realtoros_contracts.events import ALL_EVENTS, Event
from realtoros_contracts.subjects import DEFAULT_NAMESPACE, Namespace


def event_schema(event_cls: type[Event], ns: Namespace = DEFAULT_NAMESPACE) -> dict[str, Any]:
    schema = event_cls.model_json_schema(mode="serialization")
    schema["$id"] = f"https://realtoros.dev/schemas/{event_cls.TYPE}.json"
    schema["x-cloudevents-type"] = event_cls.TYPE
    if event_cls.PRODUCER == "scheduler":
        schema["x-nats-subject"] = ns.tick_subject("{schedule}")
    else:
        schema["x-nats-subject"] = ns.subject(event_cls)
    return schema


def export_schemas(directory: Path, ns: Namespace = DEFAULT_NAMESPACE) -> list[Path]:
    """Write one ``<type>.json`` file per event; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_cls in ALL_EVENTS:
        path = directory / f"{event_cls.TYPE}.json"
        path.write_text(json.dumps(event_schema(event_cls, ns), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
