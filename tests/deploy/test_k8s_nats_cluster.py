"""The production NATS: three servers routed into one JetStream cluster (the AKS overlay,
through components/nats-cluster), streams and buckets at replicas 3, one server per zone,
a disruption budget that keeps the quorum, and the routes let through the network
policies. Offline: the rendered manifests, the schemas and the policy evaluator."""

from __future__ import annotations

import re

from tests.deploy.test_k8s_network import can, pod
from tests.deploy.tools import K8S, Obj, container, find, one, pod_spec, rendered

SERVERS = 3


def nats_config(objs: list[Obj]) -> str:
    statefulset = one(objs, "StatefulSet", "nats")
    volume = next(v for v in pod_spec(statefulset)["volumes"] if v["name"] == "config")
    config = one(objs, "ConfigMap", volume["configMap"]["name"])
    text: str = config["data"]["nats.conf"]
    return text


def common_settings(objs: list[Obj]) -> dict[str, str]:
    common = next(
        c for c in find(objs, "ConfigMap") if c["metadata"]["name"].startswith("realtoros-common")
    )
    data: dict[str, str] = common["data"]
    return data


def test_three_servers_route_to_each_other_by_pod_name() -> None:
    objs = rendered("aks")
    statefulset = one(objs, "StatefulSet", "nats")
    assert statefulset["spec"]["replicas"] == SERVERS
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    assert container(statefulset)["image"].startswith("nats:2.11"), "the official image"
    config = nats_config(objs)
    headless = statefulset["spec"]["serviceName"]
    routes = re.findall(r"nats://([\w.-]+):6222", config)
    assert routes == [f"nats-{n}.{headless}" for n in range(SERVERS)]
    assert "server_name: $POD_NAME" in config, "stable server names (JetStream placement)"
    assert re.search(r"cluster\s*{[^}]*port: 6222", config)
    ports = {p["containerPort"] for p in container(statefulset)["ports"]}
    assert {4222, 6222, 8222} <= ports
    service_ports = {p["port"] for p in one(objs, "Service", headless)["spec"]["ports"]}
    assert {4222, 6222, 8222} <= service_ports


def test_the_services_use_replicas_3_and_know_every_server() -> None:
    settings = common_settings(rendered("aks"))
    assert settings["JETSTREAM_REPLICAS"] == str(SERVERS)
    assert settings["NATS_URL"].split(",") == [
        f"tls://nats-{n}.nats-headless:4222" for n in range(SERVERS)
    ]
    local = common_settings(rendered("local"))
    assert "JETSTREAM_REPLICAS" not in local, "one server: the default of 1"
    assert one(rendered("local"), "StatefulSet", "nats")["spec"]["replicas"] == 1


def test_one_server_per_zone_and_a_budget_that_keeps_the_quorum() -> None:
    objs = rendered("aks")
    spread = pod_spec(one(objs, "StatefulSet", "nats"))["topologySpreadConstraints"]
    by_key = {c["topologyKey"]: c for c in spread}
    zone = by_key["topology.kubernetes.io/zone"]
    assert zone["maxSkew"] == 1
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nats"}
    assert "kubernetes.io/hostname" in by_key
    budget = one(objs, "PodDisruptionBudget", "nats")
    quorum = SERVERS // 2 + 1
    assert SERVERS - budget["spec"]["maxUnavailable"] >= quorum
    assert budget["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "nats"}


def test_the_routes_are_allowed_and_nothing_else_reaches_them() -> None:
    nats = pod("aks", "nats")
    assert can("aks", nats, nats, 6222), "server to server"
    for other in ("crm", "scheduler", "composer", "mailer"):
        assert not can("aks", pod("aks", other), nats, 6222), other


def test_the_component_is_the_one_place_of_the_cluster_config() -> None:
    component = K8S / "components" / "nats-cluster"
    assert (component / "nats.conf").is_file()
    text = (K8S / "overlays" / "aks" / "kustomization.yaml").read_text()
    assert "../../components/nats-cluster" in text
