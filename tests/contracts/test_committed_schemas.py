"""The JSON Schemas in docs/events/schemas are what the contracts export (`make schemas`)."""

from __future__ import annotations

from pathlib import Path

from realtoros_contracts import ALL_EVENTS
from realtoros_contracts.schemas import export_schemas

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"


def test_the_committed_schemas_are_the_exported_ones(tmp_path: Path) -> None:
    exported = {path.name: path.read_text() for path in export_schemas(tmp_path)}
    committed = {path.name: path.read_text() for path in COMMITTED.glob("*.json")}
    assert set(committed) == set(exported), "run `make schemas`"
    for name, text in exported.items():
        assert committed[name] == text, f"docs/events/schemas/{name} differs: run `make schemas`"
    assert len(exported) == len(ALL_EVENTS)
