"""``realtoros-contracts``: list the events and export their JSON Schemas."""

from __future__ import annotations

import argparse
from pathlib import Path

from realtoros_contracts.events import ALL_EVENTS, SchedulerTick
from realtoros_contracts.schemas import export_schemas
from realtoros_contracts.subjects import DEFAULT_NAMESPACE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="realtoros-contracts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("schemas", help="write the JSON Schema of every event")
    export.add_argument("directory", type=Path, nargs="?", default=Path("docs/events/schemas"))
    sub.add_parser("list", help="list the events with their subjects and streams")
    args = parser.parse_args(argv)
    if args.command == "schemas":
        for path in export_schemas(args.directory):
            print(path)
    else:
        ns = DEFAULT_NAMESPACE
        for event_cls in ALL_EVENTS:
            subject = (
                ns.tick_subject("<schedule>")
                if event_cls is SchedulerTick
                else ns.subject(event_cls)
            )
            print(f"{event_cls.TYPE:40} {subject:42} {ns.stream_for(event_cls).name}")
    return 0
