"""The local overlay (kind, minikube): PostgreSQL in the cluster, generated dev-only
secrets, plain HTTP, locally built images; none of the AKS machinery."""

from __future__ import annotations

import base64

from tests.deploy.tools import K8S, SERVICES, Obj, container, find, one, rendered, workloads


def local() -> list[Obj]:
    return rendered("local")


def test_postgres_runs_in_the_cluster_on_a_persistent_volume() -> None:
    postgres = one(local(), "StatefulSet", "postgres")
    assert container(postgres)["image"].startswith("postgres:16")
    assert postgres["spec"]["volumeClaimTemplates"]
    one(local(), "Service", "postgres")


def test_secrets_are_generated_and_marked_dev_only() -> None:
    text = (K8S / "overlays" / "local" / "kustomization.yaml").read_text()
    assert "DEV ONLY" in text
    crm = next(s for s in find(local(), "Secret") if "JWT_SECRET" in s.get("data", {}))
    values = {k: base64.b64decode(v).decode() for k, v in crm["data"].items()}
    assert "dev-only" in values["JWT_SECRET"]
    assert "@postgres:5432/" in values["DATABASE_URL"]


def test_images_are_the_locally_built_ones() -> None:
    for workload in workloads(local()):
        name = workload["metadata"]["name"]
        if name in SERVICES:
            assert container(workload)["image"] == f"realtoros-{name}:dev"


def test_plain_http_and_none_of_the_cloud_machinery() -> None:
    objs = local()
    ingress = one(objs, "Ingress", "crm")
    assert "tls" not in ingress["spec"]
    assert not any(k.startswith("cert-manager.io/") for k in ingress["metadata"]["annotations"])
    for kind in ("SecretProviderClass", "ScaledObject", "HorizontalPodAutoscaler"):
        assert find(objs, kind) == [], kind
