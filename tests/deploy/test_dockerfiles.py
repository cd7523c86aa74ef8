"""The service images: one hadolint-clean Dockerfile (a template: the build argument
SERVICE names the service) built from the workspace root in the postmodern-mono way (uv
sync --frozen --package), a slim non-root runtime with a health check, and a build
context that carries the workspace and nothing private."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.dockerignore import DockerIgnore
from tests.deploy.tools import REPO, SERVICES, run, tool

DOCKERFILE = REPO / "Dockerfile"


def instructions(service: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the template built with ``SERVICE=service``
    (``${SERVICE}`` and ``${REALTOROS_SERVICE}`` replaced), continuation lines joined,
    comments dropped."""
    text = DOCKERFILE.read_text()
    for arg in ("${SERVICE}", "${REALTOROS_SERVICE}"):
        text = text.replace(arg, service)
    joined = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            pairs.append((word.upper(), " ".join(rest.split())))
    return pairs


def stages(service: str) -> list[list[tuple[str, str]]]:
    """The instructions of each stage (FROM starts one)."""
    result: list[list[tuple[str, str]]] = []
    for pair in instructions(service):
        if pair[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(pair)
    return result


def test_hadolint_finds_nothing() -> None:
    done = run(tool("hadolint"), "--no-color", DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_template_declares_the_service_argument_in_each_stage_that_uses_it() -> None:
    assert not list((REPO / "services").glob("*/Dockerfile")), "one template, no copies"
    for stage in stages("x")[1:]:
        assert ("ARG", "SERVICE") in stage, stage[0]


def test_hadolint_does_fail_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint really runs: a Dockerfile with known faults is refused."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    done = run(tool("hadolint"), "--no-color", bad)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the :latest tag


@pytest.mark.parametrize("service", SERVICES)
def test_builder_syncs_only_this_package_from_the_lock(service: str) -> None:
    builder = next(s for s in stages(service) if "AS builder" in s[0][1])
    runs = [args for word, args in builder if word == "RUN"]
    package = f"--package realtoros-{service}"
    deps_only = [r for r in runs if "uv sync" in r and "--no-install-workspace" in r]
    final = [r for r in runs if "uv sync" in r and "--no-editable" in r]
    assert deps_only, runs
    assert final, runs
    for command in deps_only + final:
        assert "--frozen" in command
        assert "--no-dev" in command
        assert package in command
    assert ("ENV", "UV_PROJECT_ENVIRONMENT=/app/.venv") in builder or any(
        "UV_PROJECT_ENVIRONMENT=/app/.venv" in args for word, args in builder if word == "ENV"
    )
    assert any("/uv" in args for word, args in builder if word == "COPY"), "uv is copied in"


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_is_slim_non_root_and_checks_its_health(service: str) -> None:
    text = DOCKERFILE.read_text()
    runtime = stages(service)[-1]
    words = [word for word, _ in runtime]
    args_of = dict(runtime)
    assert "python:3.11-slim" in text
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert runtime[0][1].startswith("${PYTHON_IMAGE}")
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=builder /app/.venv /app/.venv"], "only the venv is copied"
    assert "--uid 10001" in args_of["RUN"]
    assert args_of["USER"] == "10001:10001"
    assert args_of["EXPOSE"] == "8000"
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env
    assert "HTTP_PORT=8000" in env
    assert "PATH=" in env
    assert "/app/.venv/bin" in env
    health = args_of["HEALTHCHECK"]
    assert "urllib.request" in health
    assert "/healthz" in health
    assert "curl" not in health
    assert f"REALTOROS_SERVICE={service}" in env
    assert args_of["ENTRYPOINT"] == (
        f'["/bin/sh", "-c", "exec python -m \\"realtoros_{service}\\" \\"$@\\"", "realtoros"]'
    )
    assert words.index("USER") < words.index("ENTRYPOINT")


def test_the_crm_image_serves_by_default_and_can_migrate() -> None:
    """No CMD: the arguments are the container's; with none the CRM serves (its default)."""
    runtime = stages("crm")[-1]
    assert "CMD" not in [word for word, _ in runtime]
    from realtoros_crm import main

    assert "``serve`` (the default)" in (main.__doc__ or "")


def test_healthcheck_command_is_valid_python() -> None:
    health = dict(stages("crm")[-1])["HEALTHCHECK"]
    code = re.search(r'"-c", "(.*)"\]', health)
    assert code, health
    compile(code.group(1), "HEALTHCHECK", "exec")


def test_build_context_holds_the_workspace_and_nothing_private() -> None:
    ignore = DockerIgnore.read(REPO / ".dockerignore")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    workspace = [
        f
        for f in tracked
        if f in ("pyproject.toml", "uv.lock")
        or (f.startswith(("libs/", "services/")) and "__pycache__" not in f)
    ]
    assert "uv.lock" in workspace
    assert any(f.startswith("services/crm/src/") for f in workspace)
    left_out = [f for f in workspace if ignore.excluded(f)]
    assert not left_out, f"needed by uv sync but excluded: {left_out}"
    private = [
        ".env",
        ".venv/bin/python",
        ".data/pgdata/PG_VERSION",
        ".data/outbox/x.eml",
        ".git/config",
        "tests/conftest.py",
        "services/crm/.env",
        "libs/runtime/src/realtoros_runtime/__pycache__/bus.cpython-311.pyc",
        "services/crm/.venv/bin/python",
        ".mypy_cache/3.11/x.json",
        "deploy/k8s/overlays/aks/settings.env",
    ]
    sent = [f for f in private if not ignore.excluded(f)]
    assert not sent, f"would be sent to the Docker daemon: {sent}"
