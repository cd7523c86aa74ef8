"""The NetworkPolicies, evaluated: every connection RealtorOS needs gets through, and
the ones it does not need are refused (default deny, then only what each pod needs)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.deploy.netpol import External, Pod, allowed
from tests.deploy.tools import (
    NAMESPACE,
    OVERLAYS,
    SERVICES,
    Obj,
    find,
    pod_labels,
    rendered,
    settings_env,
    workloads,
)

INGRESS_CONTROLLER = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
KEDA = Pod("keda", {"app": "keda-operator"})
DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
STRANGER = Pod("default", {"app": "something-else"})
INTERNET = External("52.94.236.248")  # a public address (an SES endpoint, an LLM API)
PRIVATE = External("10.1.2.3")
IMDS = External("169.254.169.254")


def policies(overlay: str) -> list[Obj]:
    return find(rendered(overlay), "NetworkPolicy")


def pod(overlay: str, name: str) -> Pod:
    workload = next(w for w in workloads(rendered(overlay)) if w["metadata"]["name"] == name)
    return Pod(NAMESPACE, pod_labels(workload))


def database(overlay: str) -> Pod | External:
    if overlay == "local":
        return pod(overlay, "postgres")
    subnet = ipaddress.ip_network(settings_env()["POSTGRES_SUBNET_CIDR"])
    return External(str(next(subnet.hosts())))


def can(
    overlay: str, src: Pod | External, dst: Pod | External, port: int, proto: str = "TCP"
) -> bool:
    return allowed(policies(overlay), src, dst, port, proto)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_is_denied_by_default(overlay: str) -> None:
    deny = [p for p in policies(overlay) if p["metadata"]["name"] == "default-deny"]
    assert len(deny) == 1
    assert deny[0]["spec"]["podSelector"] == {}
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny[0]["spec"]
    assert "egress" not in deny[0]["spec"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_what_realtoros_needs_gets_through(overlay: str) -> None:
    nats = pod(overlay, "nats")
    for service in SERVICES:
        assert can(overlay, pod(overlay, service), nats, 4222), f"{service} -> nats"
    for name in (*SERVICES, "crm-migrate"):
        assert can(overlay, pod(overlay, name), DNS, 53, "UDP"), f"{name} -> dns"
    assert can(overlay, INGRESS_CONTROLLER, pod(overlay, "crm"), 8000)
    assert can(overlay, INGRESS_CONTROLLER, pod(overlay, "mailer"), 8000), "SNS -> mailer"
    assert can(overlay, KEDA, nats, 8222), "KEDA reads the consumer lag"
    for name in ("crm", "crm-migrate"):
        assert can(overlay, pod(overlay, name), database(overlay), 5432), f"{name} -> postgres"
    for worker in ("composer", "mailer", "crm"):  # the crm: webhooks
        assert can(overlay, pod(overlay, worker), INTERNET, 443), f"{worker} -> HTTPS"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_what_realtoros_does_not_need_is_refused(overlay: str) -> None:
    nats, crm = pod(overlay, "nats"), pod(overlay, "crm")
    for name in ("scheduler", "composer", "mailer"):
        assert not can(overlay, pod(overlay, name), database(overlay), 5432), f"{name} -> db"
    for name in ("scheduler", "crm-migrate"):
        assert not can(overlay, pod(overlay, name), INTERNET, 443), f"{name} -> internet"
    for worker in ("composer", "mailer", "crm"):
        assert not can(overlay, pod(overlay, worker), PRIVATE, 443), f"{worker} -> private"
        assert not can(overlay, pod(overlay, worker), IMDS, 80), f"{worker} -> IMDS"
        assert not can(overlay, pod(overlay, worker), nats, 8222), "monitoring is KEDA's"
    assert not can(overlay, pod(overlay, "crm"), pod(overlay, "composer"), 8000), "no HTTP"
    assert not can(overlay, INGRESS_CONTROLLER, nats, 4222)
    for name in ("composer", "scheduler"):
        assert not can(overlay, INGRESS_CONTROLLER, pod(overlay, name), 8000), name
    assert not can(overlay, STRANGER, crm, 8000)
    assert not can(overlay, STRANGER, nats, 4222)
    assert not can(overlay, pod(overlay, "crm-migrate"), nats, 4222)


def test_the_evaluator_itself_refuses_when_no_rule_matches() -> None:
    """A guard on the guard: with only a default deny, nothing gets through."""
    deny = [p for p in policies("local") if p["metadata"]["name"] == "default-deny"]
    assert not allowed(deny, pod("local", "crm"), pod("local", "nats"), 4222)
    assert allowed([], pod("local", "crm"), pod("local", "nats"), 4222)
