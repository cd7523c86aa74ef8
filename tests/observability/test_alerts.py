"""The alert rules (deploy/otel/alerts.yaml) are well-formed, each has its runbook in
docs/operations.md, and they name only metrics the services export (the metrics table
of docs/operations.md, which tests/observability/test_eyes_on_the_loop.py checks against
the running services for the runtime's)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from realtoros_composer.metrics import ComposerMetrics
from realtoros_crm.emails.reconciler import Reconciler
from realtoros_mailer.metrics import MailerMetrics
from realtoros_runtime.metrics import ServiceMetrics
from tests.support.processes import REPO

RULES = REPO / "deploy" / "otel" / "alerts.yaml"
OPERATIONS = (REPO / "docs" / "operations.md").read_text()
METRIC = re.compile(r"\brealtoros_(?:\(([a-z|]+)\)_)?([a-z_]+)\b")
"""``realtoros_<service>_<name>``, or ``realtoros_(crm|mailer|…)_<name>`` (a runtime metric
of several services, in a ``{__name__=~"…"}`` selector)."""
SERVICES = ("crm", "mailer", "composer", "scheduler")


def exported() -> set[str]:
    """The sample names the services' metrics export (the scheduler's two gauges are
    defined by its app, which needs NATS: named here as it names them)."""
    names: set[str] = set()
    for service in SERVICES:
        metrics = ServiceMetrics(service)
        if service == "mailer":
            MailerMetrics(metrics)
        if service == "composer":
            ComposerMetrics(metrics)
        if service == "scheduler":
            for gauge in ("leader", "ticks_published"):
                metrics.callback_gauge(gauge, gauge, lambda: 0.0)
        if service == "crm":
            Reconciler(None, None, None, stuck_after=None, interval=60, metrics=metrics)  # type: ignore[arg-type]
        for family in metrics.registry.collect():
            names.update((family.name, f"{family.name}_total"))
    return names


def named(expr: str) -> list[tuple[list[str], list[str]]]:
    """Each metric an expression names: how the docs may name it (a runtime metric of one
    service also as ``realtoros_<service>_…``), and as exported."""
    found = []
    for services, rest in METRIC.findall(expr):
        if services:
            exported_as = [f"realtoros_{s}_{rest}" for s in services.split("|")]
            found.append(([f"realtoros_<service>_{rest}"], exported_as))
            continue
        documented = [f"realtoros_{rest}"]
        service, _, suffix = rest.partition("_")
        if service in SERVICES:
            documented.append(f"realtoros_<service>_{suffix}")
        found.append((documented, [f"realtoros_{rest}"]))
    return found


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
    runtime = exported()
    for rule in rules():
        for documented, names in named(rule["expr"]):
            found = any(f"`{name}`" in OPERATIONS for name in documented)
            assert found, f"{rule['alert']}: {documented[0]} is not documented"
            for name in names:
                assert name in runtime, f"{rule['alert']}: {name} is not exported"
