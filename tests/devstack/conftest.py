"""Fixtures of the devstack tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data folder for embedded servers, outside pytest's temporary root: every pytest
    session resets that root to mode 0700, which (when run as root) locks the embedded
    PostgreSQL's system user out of its files if another session starts meanwhile."""
    base = Path(tempfile.mkdtemp(prefix="realtoros-devstack-"))
    yield base / "data"
    shutil.rmtree(base, ignore_errors=True)
