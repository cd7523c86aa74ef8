"""The builder stage of each Dockerfile, replayed without Docker: the same two
``uv sync`` commands (offline, from the cache ``./dev setup`` filled) in a copy of what
the build context holds. The venv they make is the one the image runs, so it must
import the service's composition root with nothing from the dev group, and no other
service's code."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.test_dockerfiles import instructions
from tests.deploy.tools import REPO, SERVICES


def uv() -> str:
    found = shutil.which("uv") or str(REPO / ".data" / "tools" / "bin" / "uv")
    assert Path(found).is_file(), "uv is missing: ./dev installs it"
    return found


def sync_commands(service: str) -> list[list[str]]:
    """The Dockerfile's `uv sync …` commands, exactly as written there (built for ``service``)."""
    commands = []
    for word, args in instructions(service):
        if word == "RUN" and "uv sync" in args:
            commands.append(args[args.index("uv sync") :].split())
    assert len(commands) == 2, commands
    return commands


def sync(command: list[str], cwd: Path, venv: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_FROZEN")}
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never")
    done = subprocess.run(
        [uv(), *command[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stderr}"


def copy_context(src: Path, names: list[str]) -> None:
    skip = shutil.ignore_patterns("__pycache__", ".venv", ".data", "*.egg-info", ".env")
    for name in names:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=skip)
        else:
            shutil.copy2(REPO / name, src / name)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", SERVICES)
def test_the_image_venv_runs_the_service(service: str, tmp_path: Path) -> None:
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    deps_only, final = sync_commands(service)
    # Layer 1 sees only the root files, as in the Dockerfile.
    copy_context(src, ["pyproject.toml", "uv.lock"])
    sync(deps_only, src, venv)
    copy_context(src, ["libs", "services"])
    sync(final, src, venv)

    others = [f"realtoros_{s}" for s in SERVICES if s != service]
    check = (
        "import importlib, importlib.util, sys\n"
        f"assert importlib.util.find_spec('realtoros_{service}.__main__'), 'no __main__'\n"
        f"importlib.import_module('realtoros_{service}.main')\n"
        f"importlib.import_module('realtoros_{service}.app')\n"
        f"for name in {[*others, 'pytest', 'realtoros_devstack']!r}:\n"
        "    assert importlib.util.find_spec(name) is None, name + ' is in the image'\n"
        f"assert '/site-packages/' in importlib.import_module('realtoros_{service}').__file__\n"
    )
    # -I: nothing from the repository, PYTHONPATH or user site can leak in.
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
