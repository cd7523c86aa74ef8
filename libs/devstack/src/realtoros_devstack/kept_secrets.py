"""Secrets the stack generates on its first run and keeps under the secrets dir (mode
0600), unless the environment gives them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path


def jwt_secret(env: Mapping[str, str], secrets_dir: Path) -> str:
    """``JWT_SECRET`` from the environment, else the one generated on the first run and kept
    in ``<secrets_dir>/JWT_SECRET`` (mode 0600)."""
    return kept_secret("JWT_SECRET", env, secrets_dir)


def kept_secret(name: str, env: Mapping[str, str], secrets_dir: Path) -> str:
    """``name`` from the environment, else the value generated on the first run and kept in
    ``<secrets_dir>/<name>`` (mode 0600), so it survives restarts."""
    if value := env.get(name):
        return value
    path = secrets_dir / name
    if path.exists() and (existing := path.read_text().strip()):
        return existing
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)
    return value
