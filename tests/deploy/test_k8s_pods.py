"""The pods as the cluster will run them: hardened (restricted Pod Security), sized,
probed on /healthz and /readyz, and started with settings each service accepts."""

from __future__ import annotations

import base64

import pytest

from tests.deploy.settings_names import settings_problems, unknown
from tests.deploy.tools import (
    OVERLAYS,
    SERVICES,
    Obj,
    configmap_data,
    container,
    env_value,
    find,
    key_vault_objects,
    one,
    pod_spec,
    rendered,
    service_workload,
    workloads,
)

SECRETS_DIR = "/run/secrets/realtoros"
# What each pod must find in its secrets directory, by Kubernetes workload.
NEEDS_SECRETS = {
    "crm": {"DATABASE_URL", "JWT_SECRET", "NATS_PASSWORD"},
    "crm-migrate": {"DATABASE_URL"},
    "scheduler": {"NATS_PASSWORD"},
    # OPENAI_API_KEY: required once COMPOSER_MODE=llm (checked below)
    "composer": {"NATS_PASSWORD"},
    "mailer": {"NATS_PASSWORD"},  # AWS keys: required once MAIL_TRANSPORT=ses (checked below)
}
# Stand-ins for values Key Vault holds on AKS: shaped like the real ones.
KEY_VAULT_STAND_INS = {
    "DATABASE_URL": "postgresql://realtoros:pw@realtoros.postgres.database.azure.com:5432/realtoros",
    "JWT_SECRET": "k" * 48,
    "OPENAI_API_KEY": "sk-stand-in",
    "AWS_ACCESS_KEY_ID": "AKIASTANDIN000000000",
    "AWS_SECRET_ACCESS_KEY": "stand-in-secret",
    "NATS_PASSWORD": "stand-in-nats-password",
    "NATS_TLS_CA": "-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n",
    "MAIL_REPLY_SECRET": "r" * 48,
}


def all_workloads() -> list[tuple[str, Obj]]:
    return [(o, w) for o in OVERLAYS for w in workloads(rendered(o))]


IDS = [f"{o}-{w['metadata']['name']}" for o, w in all_workloads()]


@pytest.mark.parametrize(("overlay", "workload"), all_workloads(), ids=IDS)
def test_pods_meet_the_restricted_pod_security_standard(overlay: str, workload: Obj) -> None:
    spec = pod_spec(workload)
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod.get("runAsUser", 1) != 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False, "no pod talks to the API"
    assert not spec.get("hostNetwork")
    assert not spec.get("hostPID")
    for ctr in spec["containers"] + spec.get("initContainers", []):
        sc = ctr["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert not sc.get("capabilities", {}).get("add")
        assert not sc.get("privileged")


@pytest.mark.parametrize(("overlay", "workload"), all_workloads(), ids=IDS)
def test_pods_have_requests_and_limits_and_pinned_images(overlay: str, workload: Obj) -> None:
    ctr = container(workload)
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(ctr["resources"][kind]), kind
    image = ctr["image"]
    assert ":" in image.rsplit("/", 1)[-1], f"{image}: no tag"
    assert not image.endswith(":latest")


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_services_are_probed_and_listen_on_all_interfaces(overlay: str, service: str) -> None:
    objs = rendered(overlay)
    workload = service_workload(objs, service)
    ctr = container(workload)
    config = configmap_data(objs, workload)
    assert config["HTTP_HOST"] == "0.0.0.0"
    http = next(p for p in ctr["ports"] if p["name"] == "http")
    assert str(http["containerPort"]) == config["HTTP_PORT"]
    assert ctr["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert ctr["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert ctr["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize(("overlay", "workload"), all_workloads(), ids=IDS)
def test_writable_paths_are_empty_dirs_or_volumes(overlay: str, workload: Obj) -> None:
    """With a read-only root, /tmp and the mail outbox must be volumes of their own."""
    ctr = container(workload)
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    name = workload["metadata"]["name"]
    if name in (*SERVICES, "crm-migrate"):
        assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    if name == "mailer":
        outbox = configmap_data(rendered(overlay), workload)["MAIL_OUTBOX_DIR"]
        assert "emptyDir" in volumes[mounts[outbox]["name"]]
        assert not mounts[outbox].get("readOnly")
    if name in NEEDS_SECRETS:
        secrets = mounts[SECRETS_DIR]
        assert secrets["readOnly"] is True
    else:
        assert SECRETS_DIR not in mounts, f"{name} needs no secrets"


def secret_files(objs: list[Obj], workload: Obj) -> dict[str, str]:
    """The files the pod finds in its secrets directory (AKS: stand-ins for Key Vault)."""
    mount = next(m for m in container(workload)["volumeMounts"] if m["mountPath"] == SECRETS_DIR)
    volume = next(v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"])
    if "secret" in volume:
        secret = one(objs, "Secret", volume["secret"]["secretName"])
        return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    spc = one(objs, "SecretProviderClass", volume["csi"]["volumeAttributes"]["secretProviderClass"])
    return {o["objectAlias"]: KEY_VAULT_STAND_INS[o["objectAlias"]] for o in key_vault_objects(spc)}


def pod_environment(objs: list[Obj], workload: Obj) -> dict[str, str]:
    env = configmap_data(objs, workload)
    for entry in container(workload).get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif entry["valueFrom"].get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[entry["name"]] = f"{workload['metadata']['name']}-5d8f7b9c4-x2x7q"
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_accepts_its_settings(overlay: str, service: str) -> None:
    """What the service would print at start: nothing wrong, and nothing it ignores."""
    objs = rendered(overlay)
    workload = service_workload(objs, service)
    env = pod_environment(objs, workload)
    files = secret_files(objs, workload) if service in NEEDS_SECRETS else {}
    assert NEEDS_SECRETS.get(service, set()) <= set(files)
    assert unknown(service, [*env, *files]) == []
    assert settings_problems(service, {**env, **files}) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_migration_job_runs_the_crm_image_with_the_database_url(overlay: str) -> None:
    objs = rendered(overlay)
    job = one(objs, "Job", "crm-migrate")
    ctr = container(job)
    assert ctr["args"] == ["migrate"]
    assert ctr["image"] == container(service_workload(objs, "crm"))["image"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert "DATABASE_URL" in secret_files(objs, job)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_two_schedulers_named_after_their_pods(overlay: str) -> None:
    objs = rendered(overlay)
    scheduler = service_workload(objs, "scheduler")
    assert scheduler["spec"]["replicas"] == 2
    replica_id = env_value(scheduler, "REPLICA_ID")
    assert replica_id is not None
    assert replica_id["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert not find(objs, "HorizontalPodAutoscaler", "scheduler"), "leader election: fixed size"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_disruption_budget(overlay: str) -> None:
    objs = rendered(overlay)
    budgets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for p in find(objs, "PodDisruptionBudget")
    }
    assert set(SERVICES) <= budgets
    for pdb in find(objs, "PodDisruptionBudget"):
        if pdb["metadata"]["name"] in ("crm", "scheduler"):
            assert pdb["spec"]["minAvailable"] == 1, "one stays up through a node drain"
