"""The AKS overlay: images from ACR, secrets only from Key Vault (Secrets Store CSI driver,
workload identity), KEDA on the workers' JetStream consumer lag, an HPA on the CRM, TLS
from cert-manager. The custom resources have no schema here, so the fields their
operators require are checked one by one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realtoros_contracts import Namespace
from tests.deploy.settings_names import settings_of
from tests.deploy.tools import (
    NAMESPACE,
    REPO,
    SERVICES,
    Obj,
    container,
    find,
    key_vault_objects,
    one,
    pod_labels,
    pod_spec,
    rendered,
    settings_env,
    workloads,
)

ACR = "realtorosacr.azurecr.io"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The JetStream consumers each worker reads: (stream, durable), as the services declare them.
CONSUMERS = {
    "composer": {("crm", "composer-task-due")},
    "mailer": {("composer", "mailer-email-composed"), ("crm", "mailer-email-approved")},
}
SCALED_OBJECT_SPEC = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
    "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}  # fmt: skip
NATS_JETSTREAM_METADATA = {
    "natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold",
    "activationLagThreshold", "useHttps",
}  # fmt: skip
AZURE_PARAMETERS = {
    "usePodIdentity", "useVMManagedIdentity", "userAssignedIdentityID", "clientID",
    "keyvaultName", "tenantId", "cloudName", "cloudEnvFileName", "objects",
}  # fmt: skip


def aks() -> list[Obj]:
    return rendered("aks")


def test_images_come_from_acr() -> None:
    for workload in workloads(aks()):
        name = workload["metadata"]["name"]
        image = container(workload)["image"]
        if name in SERVICES or name == "crm-migrate":
            service = "crm" if name == "crm-migrate" else name
            assert image.startswith(f"{ACR}/realtoros-{service}:"), image


def test_no_secret_lives_in_the_manifests_and_no_database_in_the_cluster() -> None:
    assert find(aks(), "Secret") == []
    assert find(aks(), "StatefulSet", "postgres") == []


def test_settings_reach_the_manifests() -> None:
    values = settings_env()
    assert set(values) == {
        "AZURE_TENANT_ID", "WORKLOAD_IDENTITY_CLIENT_ID", "KEYVAULT_NAME", "PUBLIC_HOST",
        "CLUSTER_ISSUER", "POSTGRES_SUBNET_CIDR",
    }  # fmt: skip
    objs = aks()
    account = one(objs, "ServiceAccount", "realtoros")
    client_id = values["WORKLOAD_IDENTITY_CLIENT_ID"]
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"] == client_id
    for spc in find(objs, "SecretProviderClass"):
        params = spc["spec"]["parameters"]
        assert params["clientID"] == client_id
        assert params["tenantId"] == values["AZURE_TENANT_ID"]
        assert params["keyvaultName"] == values["KEYVAULT_NAME"]
    ingress = one(objs, "Ingress", "crm")
    host = values["PUBLIC_HOST"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == [host]
    crm_config = next(c for c in find(objs, "ConfigMap") if "PUBLIC_BASE_URL" in c["data"])
    assert crm_config["data"]["PUBLIC_BASE_URL"] == f"https://{host}"
    policy = one(objs, "NetworkPolicy", "crm-to-postgres")
    assert policy["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"] == values["POSTGRES_SUBNET_CIDR"]
    # The local-config generator that carries these values is not applied itself.
    assert not find(objs, "ConfigMap", "aks-settings")


def test_committed_settings_are_well_formed_placeholders() -> None:
    values = settings_env()
    assert GUID.match(values["AZURE_TENANT_ID"])
    assert GUID.match(values["WORKLOAD_IDENTITY_CLIENT_ID"])
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]", values["KEYVAULT_NAME"])


def test_secret_provider_classes_are_complete() -> None:
    classes = find(aks(), "SecretProviderClass")
    assert classes
    for spc in classes:
        assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
        assert set(spc["spec"]) <= {"provider", "parameters", "secretObjects"}
        assert spc["spec"]["provider"] == "azure"
        params = spc["spec"]["parameters"]
        assert set(params) <= AZURE_PARAMETERS, set(params) - AZURE_PARAMETERS
        assert all(isinstance(v, str) for v in params.values()), "parameters are strings"
        assert params["usePodIdentity"] == "false"
        assert params["useVMManagedIdentity"] == "false"
        assert params["clientID"]
        assert params["keyvaultName"]
        assert params["tenantId"]
        objects = key_vault_objects(spc)
        assert objects
        for obj in objects:
            assert re.fullmatch(r"[0-9A-Za-z-]{1,127}", obj["objectName"]), obj
            assert obj["objectType"] in ("secret", "key", "cert")
            # The file name is the setting's name: the service reads it from the mount.
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", obj["objectAlias"]), obj


def test_each_pod_mounts_its_own_key_vault_secrets_with_workload_identity() -> None:
    objs = aks()
    account = one(objs, "ServiceAccount", "realtoros")
    assert "azure.workload.identity/client-id" in account["metadata"]["annotations"]
    for workload in workloads(objs):
        csi = [v for v in pod_spec(workload).get("volumes", []) if "csi" in v]
        if not csi:
            continue
        name = workload["metadata"]["name"]
        assert pod_labels(workload)["azure.workload.identity/use"] == "true", name
        assert pod_spec(workload)["serviceAccountName"] == "realtoros", name
        (volume,) = csi
        assert volume["csi"]["driver"] == "secrets-store.csi.k8s.io"
        assert volume["csi"]["readOnly"] is True
        spc = one(
            objs, "SecretProviderClass", volume["csi"]["volumeAttributes"]["secretProviderClass"]
        )
        service = "crm" if name == "crm-migrate" else name
        aliases = {o["objectAlias"] for o in key_vault_objects(spc)}
        assert aliases <= settings_of(service), f"{name}: {aliases - settings_of(service)}"
        mounts = {m["name"]: m for m in container(workload)["volumeMounts"]}
        assert mounts[volume["name"]]["mountPath"] == "/run/secrets/realtoros"
        assert mounts[volume["name"]]["readOnly"] is True
    with_csi = {
        w["metadata"]["name"]
        for w in workloads(objs)
        if any("csi" in v for v in pod_spec(w).get("volumes", []))
    }
    assert with_csi == {"crm", "crm-migrate", "composer", "mailer"}


def test_the_crm_scales_on_cpu() -> None:
    (hpa,) = find(aks(), "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "crm",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"


@pytest.mark.parametrize("worker", sorted(CONSUMERS))
def test_workers_scale_on_their_jetstream_consumer_lag(worker: str) -> None:
    objs = aks()
    scaled = one(objs, "ScaledObject", worker)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert set(spec) <= SCALED_OBJECT_SPEC, set(spec) - SCALED_OBJECT_SPEC
    assert spec["scaleTargetRef"]["name"] == worker
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    ns = Namespace()  # the production namespace, NATS_NAMESPACE=realtoros
    watched = set()
    for trigger in spec["triggers"]:
        assert trigger["type"] == "nats-jetstream"
        meta = trigger["metadata"]
        assert set(meta) <= NATS_JETSTREAM_METADATA, set(meta) - NATS_JETSTREAM_METADATA
        assert all(isinstance(v, str) for v in meta.values()), "trigger metadata are strings"
        assert meta["account"] == "$G"  # the default account of a server without accounts
        assert int(meta["lagThreshold"]) > 0
        host, port = meta["natsServerMonitoringEndpoint"].rsplit(":", 1)
        # On a cluster KEDA asks the consumer's leader at <server name>.<host>.
        assert host == f"nats-headless.{NAMESPACE}.svc.cluster.local"
        nats = one(objs, "Service", "nats-headless")
        assert int(port) in {p["port"] for p in nats["spec"]["ports"]}
        producer = next(p for p in ns.producers if ns.stream_name(p) == meta["stream"])
        watched.add((producer, meta["consumer"]))
    assert watched == CONSUMERS[worker]


@pytest.mark.parametrize("worker", sorted(CONSUMERS))
def test_the_watched_consumers_are_the_ones_the_service_declares(worker: str) -> None:
    source = "\n".join(
        p.read_text() for p in Path(REPO / "services" / worker / "src").rglob("*.py")
    )
    for _, durable in CONSUMERS[worker]:
        assert f'"{durable}"' in source, f"{worker} declares no durable {durable!r}"


def test_the_gateway_has_tls_from_cert_manager() -> None:
    ingress = one(aks(), "Ingress", "crm")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == settings_env()["CLUSTER_ISSUER"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["secretName"]
    assert tls["hosts"] == [r["host"] for r in ingress["spec"]["rules"]]
