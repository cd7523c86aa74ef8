""".github/workflows/ci.yml: valid against the GitHub workflow schema; it tests with the
README's command, builds the four images from the root, pushes to ACR with OIDC and
applies the AKS overlay, on main only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tools import REPO, SERVICES, load_yaml, run, settings_env, tool

WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
MAIN_PUSH = "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def jobs() -> dict[str, Any]:
    result: dict[str, Any] = load_yaml(WORKFLOW)["jobs"]
    return result


def script(job: str) -> str:
    return "\n".join(step.get("run", "") for step in jobs()[job]["steps"])


def uses(job: str) -> dict[str, dict[str, Any]]:
    """Action (without its version) -> the step using it."""
    return {s["uses"].split("@")[0]: s for s in jobs()[job]["steps"] if "uses" in s}


def test_workflow_matches_the_github_workflow_schema() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_schema_check_does_refuse_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump({"on": "push", "jobs": {"x": {"steps": [{"run": 1}]}}}))
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", broken)
    assert done.returncode != 0


def test_lint_and_tests_run_as_on_a_laptop() -> None:
    assert "./dev lint" in script("lint")
    assert "./dev test" in script("test")
    assert uses("test")["actions/setup-python"]["with"]["python-version"] == "3.11"


def test_the_four_images_are_built_from_the_root_and_pushed_from_main_only() -> None:
    images = jobs()["images"]
    assert set(images["needs"]) == {"lint", "test"}
    assert images["strategy"]["matrix"]["service"] == list(SERVICES)
    build = uses("images")["docker/build-push-action"]["with"]
    assert build["context"] == "."
    assert build["file"] == "Dockerfile"
    assert build["build-args"] == "SERVICE=${{ matrix.service }}"
    assert "realtorosacr.azurecr.io/realtoros-${{ matrix.service }}:${{ github.sha }}" in (
        build["tags"].replace("${{ env.REGISTRY }}", load_yaml(WORKFLOW)["env"]["REGISTRY"])
    )
    assert build["push"] == "${{ env.PUSH == 'true' }}"
    assert images["env"]["PUSH"] == "${{ " + MAIN_PUSH + " }}"


def test_azure_access_is_oidc_without_a_stored_secret() -> None:
    text = WORKFLOW.read_text()
    assert "client-secret" not in text
    assert "secrets." not in text, "no stored credential: federated identity only"
    for job in ("images", "deploy"):
        assert jobs()[job]["permissions"]["id-token"] == "write"
        login = uses(job)["azure/login"]["with"]
        assert set(login) == {"client-id", "tenant-id", "subscription-id"}
    assert "az acr login --name" in script("images")


def test_main_applies_the_aks_overlay_after_the_images() -> None:
    deploy = jobs()["deploy"]
    assert deploy["needs"] == "images"
    assert deploy["if"] == MAIN_PUSH
    assert "azure/aks-set-context" in uses("deploy")
    commands = script("deploy")
    assert "kubectl apply -k deploy/k8s/overlays/aks" in commands
    # The immutable migration Job is replaced, and awaited before the rollout is.
    assert commands.index("kubectl delete job crm-migrate") < commands.index("kubectl apply")
    assert "--for=condition=complete job/crm-migrate" in commands
    # Every image is pinned to this commit, and every Deployment's rollout is awaited.
    assert 'set image "realtoros-$service=$REGISTRY/realtoros-$service:$GITHUB_SHA"' in commands
    assert "for service in " + " ".join(SERVICES) in commands
    assert "for deployment in " + " ".join(SERVICES) in commands


def test_the_deploy_writes_every_aks_setting_and_only_those() -> None:
    step = next(s for s in jobs()["deploy"]["steps"] if "settings.env" in s.get("run", ""))
    loop = re.search(r"for name in ([A-Z_ ]+); do", step["run"])
    assert loop
    written = set(loop.group(1).split())
    assert written == set(settings_env())
    assert written == set(step["env"])
