"""The alert rules (deploy/otel/alerts.yaml) are well-formed, each has its runbook in
docs/operations.md, and they name only metrics the services export (the metrics table
of docs/operations.md, which tests/observability/test_eyes_on_the_loop.py checks against
the running services for the runtime's)."""

from __future__ import annotations

import re
from typing import Any

import yaml
from prometheus_client import REGISTRY

import realtoros_crm.emails.reconciler  # noqa: F401 - registers the reconciler's counter
import realtoros_runtime.metrics  # noqa: F401 - registers the runtime's metrics
from tests.support.processes import REPO

RULES = REPO / "deploy" / "otel" / "alerts.yaml"
OPERATIONS = (REPO / "docs" / "operations.md").read_text()
METRIC = re.compile(r"\b((?:realtoros|mailer)_[a-z_]+)\b")


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_alert_has_an_expression_a_severity_and_a_runbook() -> None:
    found = rules()
    assert len({r["alert"] for r in found}) == len(found), "alert names are unique"
    for rule in found:
        assert rule["expr"].strip(), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "page"), rule["alert"]
        runbook = rule["annotations"]["runbook"]
        section = re.fullmatch(r"docs/operations\.md#alerts \((.+)\)", runbook)
        assert section, runbook
        assert f"**{section.group(1)}**" in OPERATIONS, f"no runbook: {section.group(1)}"


def test_alerts_name_only_documented_metrics() -> None:
    runtime = {
        sample_name
        for family in REGISTRY.collect()
        for sample_name in (family.name, f"{family.name}_total")
    }
    for rule in rules():
        for name in METRIC.findall(rule["expr"]):
            assert f"`{name}`" in OPERATIONS, f"{rule['alert']}: {name} is not documented"
            if name.startswith("realtoros_") and not name.startswith(
                ("realtoros_composer_", "realtoros_scheduler_", "realtoros_mailer_")
            ):
                assert name in runtime, f"{rule['alert']}: {name} is not a runtime metric"
