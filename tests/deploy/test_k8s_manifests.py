"""deploy/k8s: the base and every overlay build with kustomize (kubectl's own), every
object is valid against the Kubernetes API schemas, and every name one object uses to
find another (ConfigMaps, Secrets, services, selectors, scale targets) resolves."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError  # type: ignore[import-untyped]

from realtoros_contracts import Namespace
from realtoros_devstack import natsauth
from tests.deploy.netpol import selects
from tests.deploy.tools import (
    K8S,
    KUBERNETES_VERSION,
    NAMESPACE,
    OVERLAYS,
    Obj,
    find,
    kustomize,
    pod_labels,
    pod_spec,
    rendered,
    workloads,
)

# Custom resources: no schema ships with Kubernetes; their fields are checked one by one
# in test_k8s_aks.py.
CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
}


def validate(obj: Obj) -> None:
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_base_builds_alone() -> None:
    kinds = {o["kind"] for o in kustomize(K8S / "base")}
    assert {"Namespace", "Deployment", "StatefulSet", "Job", "NetworkPolicy"} <= kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_matches_the_kubernetes_schema(overlay: str) -> None:
    custom = []
    for obj in rendered(overlay):
        key = (obj["apiVersion"], obj["kind"])
        try:
            validate(obj)
        except SchemaNotFoundError:
            assert key in CUSTOM, f"no schema for {key}: a typo in apiVersion or kind?"
            custom.append(key)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
    if overlay == "aks":
        assert set(custom) == CUSTOM


def test_the_schema_check_does_refuse_a_wrong_object() -> None:
    deployment = next(o for o in rendered("local") if o["kind"] == "Deployment")
    wrong = yaml.safe_load(yaml.safe_dump(deployment))
    wrong["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong)
    wrong = yaml.safe_load(yaml.safe_dump(deployment))
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lives_in_the_realtoros_namespace(overlay: str) -> None:
    objs = rendered(overlay)
    assert [o["metadata"]["name"] for o in find(objs, "Namespace")] == [NAMESPACE]
    for obj in objs:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]["name"]


def names(objs: list[Obj], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in find(objs, kind)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_refer_only_to_objects_that_exist(overlay: str) -> None:
    objs = rendered(overlay)
    configmaps, secrets = names(objs, "ConfigMap"), names(objs, "Secret")
    classes, accounts = names(objs, "SecretProviderClass"), names(objs, "ServiceAccount")
    # The CSI driver creates the Secrets a SecretProviderClass syncs (secretObjects).
    for spc in find(objs, "SecretProviderClass"):
        secrets |= {synced["secretName"] for synced in spc["spec"].get("secretObjects", [])}
    for workload in workloads(objs):
        spec, where = pod_spec(workload), workload["metadata"]["name"]
        if "serviceAccountName" in spec:
            assert spec["serviceAccountName"] in accounts, where
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps, where
            if "secret" in volume:
                assert volume["secret"]["secretName"] in secrets, where
            if "csi" in volume:
                assert volume["csi"]["volumeAttributes"]["secretProviderClass"] in classes
        for ctr in spec["containers"]:
            for source in ctr.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, where
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, where
            for env in ctr.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = next(s for s in find(objs, "Secret", ref["name"]))
                    assert ref["key"] in secret.get("data", {}), where
            mounted = {m["name"] for m in ctr.get("volumeMounts", [])}
            claims = {
                c["metadata"]["name"] for c in workload["spec"].get("volumeClaimTemplates", [])
            }
            declared = {v["name"] for v in spec.get("volumes", [])} | claims
            assert mounted <= declared, f"{where}: mounts {mounted - declared} undeclared"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_the_ingress_reach_pods_through_named_ports(overlay: str) -> None:
    objs = rendered(overlay)
    pods = list(workloads(objs))
    for service in find(objs, "Service"):
        backing = [
            w for w in pods if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(w))
        ]
        assert len(backing) == 1, f"service {service['metadata']['name']} selects {len(backing)}"
        ports = {p["name"] for c in pod_spec(backing[0])["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, f"{service['metadata']['name']}: {port}"
    services = {s["metadata"]["name"]: s for s in find(objs, "Service")}
    for ingress in find(objs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                port_names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in port_names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_sends_sns_to_the_mailer_and_the_rest_to_the_crm(overlay: str) -> None:
    [ingress] = find(rendered(overlay), "Ingress")
    routes = [
        (path["path"], path["pathType"], path["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert routes == [("/ses/notifications", "Exact", "mailer"), ("/", "Prefix", "crm")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_budgets_policies_and_scalers_select_real_workloads(overlay: str) -> None:
    objs = rendered(overlay)
    pods = list(workloads(objs))
    for pdb in find(objs, "PodDisruptionBudget"):
        chosen = [w for w in pods if selects(pdb["spec"]["selector"], pod_labels(w))]
        assert len(chosen) == 1, f"PDB {pdb['metadata']['name']} selects {len(chosen)}"
        assert chosen[0]["kind"] in ("Deployment", "StatefulSet")
    for policy in find(objs, "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]
        if selector:
            assert any(selects(selector, pod_labels(w)) for w in pods), policy["metadata"]["name"]
    deployments = names(objs, "Deployment")
    for hpa in find(objs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    for scaled in find(objs, "ScaledObject"):
        assert scaled["spec"]["scaleTargetRef"]["name"] in deployments


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(overlay: str) -> None:
    objs = rendered(overlay)
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in find(objs, "HorizontalPodAutoscaler")}
    scaled |= {s["spec"]["scaleTargetRef"]["name"] for s in find(objs, "ScaledObject")}
    for deployment in find(objs, "Deployment"):
        if deployment["metadata"]["name"] in scaled:
            assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


def test_nats_serves_jetstream_from_its_volume_and_monitoring_on_8222() -> None:
    conf = (K8S / "base" / "nats" / "nats.conf").read_text()
    settings = dict(
        line.split(":", 1) for line in (x.strip() for x in conf.splitlines()) if ":" in line
    )
    assert settings["port"].strip() == "4222"
    assert settings["http_port"].strip() == "8222"
    store = settings["store_dir"].strip()
    for overlay in OVERLAYS:
        objs = rendered(overlay)
        nats = next(o for o in find(objs, "StatefulSet", "nats"))
        mounts = {
            m["mountPath"]: m["name"] for m in pod_spec(nats)["containers"][0]["volumeMounts"]
        }
        claims = [c["metadata"]["name"] for c in nats["spec"]["volumeClaimTemplates"]]
        assert mounts[store] in claims, "the JetStream store is on the persistent volume"
        args = pod_spec(nats)["containers"][0]["args"]
        config_dir = str(Path(args[args.index("--config") + 1]).parent)
        assert config_dir in mounts
        ports = {p["port"] for p in next(iter(find(objs, "Service", "nats")))["spec"]["ports"]}
        assert {4222, 8222} <= ports


def test_the_nats_users_are_the_generated_ones_with_no_password_in_the_repository() -> None:
    committed = (K8S / "base" / "nats" / "auth.conf").read_text()
    assert committed == natsauth.kubernetes_block(Namespace()), (
        "run `python -m realtoros_devstack.natsauth > deploy/k8s/base/nats/auth.conf`"
    )
    assert "password: $NATS_PASSWORD_" in committed
    assert '"password"' not in committed
