"""A small evaluator of Kubernetes NetworkPolicies (the networking.k8s.io/v1 semantics):
may this pod open a connection to that pod, or to that outside address, on that port?

A connection is allowed when the source's egress allows it (no egress policy selects the
source, or one of the rules of those that do matches) and the destination's ingress
allows it (the same, for ingress). Peers: podSelector (the policy's namespace),
namespaceSelector (with an optional podSelector), ipBlock (outside addresses only: the
manifests never address pods by IP). Ports are numeric, as in the RealtorOS manifests.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


@dataclass(frozen=True)
class External:
    ip: str


Endpoint = Pod | External


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector selects everything."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def _peer_matches(peer: Obj, policy_ns: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if not isinstance(other, External):
            return False
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other.ip)
        if ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if not isinstance(other, Pod):
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.ns_labels()):
            return False
    elif other.namespace != policy_ns:
        return False
    return selects(peer.get("podSelector"), other.labels)


def _port_matches(rule: Obj, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        low = entry.get("port")
        if low is None or low == port or (low <= port <= entry.get("endPort", low)):
            return True
    return False


def _policy_types(spec: Obj) -> list[str]:
    """Declared, or by default Ingress, plus Egress when the policy has egress rules."""
    declared: list[str] | None = spec.get("policyTypes")
    if declared is not None:
        return declared
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _direction_allows(
    policies: list[Obj], direction: str, subject: Pod, other: Endpoint, port: int, protocol: str
) -> bool:
    key = "egress" if direction == "Egress" else "ingress"
    peer_key = "to" if direction == "Egress" else "from"
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and direction in _policy_types(p["spec"])
        and selects(p["spec"].get("podSelector", {}), subject.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        ns = policy["metadata"]["namespace"]
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peer_key)
            peer_ok = not peers or any(_peer_matches(p, ns, other) for p in peers)
            if peer_ok and _port_matches(rule, port, protocol):
                return True
    return False


def allowed(
    policies: list[Obj], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """Whether a connection from ``src`` to ``dst`` on ``port`` gets through."""
    if isinstance(src, Pod) and not _direction_allows(policies, "Egress", src, dst, port, protocol):
        return False
    return not isinstance(dst, Pod) or _direction_allows(
        policies, "Ingress", dst, src, port, protocol
    )
