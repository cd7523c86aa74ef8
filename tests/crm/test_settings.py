"""Settings: a bad value stops the process at start with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from realtoros_crm.settings import CrmSettings, normalise_database_url

GOOD_SECRET = "a-jwt-secret-of-at-least-32-characters!"
GOOD_DB = "postgresql://u:p@127.0.0.1:1/db"


def run_crm(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.upper() not in {"DATABASE_URL", "JWT_SECRET", "NATS_URL", "UNSUBSCRIBE_SECRET"}
    }
    env |= {"REALTOROS_SECRETS_DIR": str(tmp_path / "none"), **settings}
    return subprocess.run(
        [sys.executable, "-m", "realtoros_crm"],
        env=env,
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"DATABASE_URL": GOOD_DB, "JWT_SECRET": "0123456789"}, "JWT_SECRET"),
        ({"DATABASE_URL": "mysql://x", "JWT_SECRET": GOOD_SECRET}, "DATABASE_URL"),
        (
            {"DATABASE_URL": GOOD_DB, "JWT_SECRET": GOOD_SECRET, "PUBLIC_BASE_URL": "ftp://x"},
            "PUBLIC_BASE_URL",
        ),
    ],
)
def test_a_bad_setting_stops_the_service_with_one_line(
    tmp_path: Path, settings: dict[str, str], name: str
) -> None:
    done = run_crm(tmp_path, **settings)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"crm: bad setting {name}:"), lines[0]
    assert "0123456789" not in done.stderr


def test_database_urls_are_normalised_to_asyncpg() -> None:
    for scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        url = normalise_database_url(f"{scheme}://u:p%40ss@db:5432/crm")
        assert url == "postgresql+asyncpg://u:p%40ss@db:5432/crm"
    for bad in ("mysql://x", "sqlite:///x.db", "not a url", "postgresql://"):
        with pytest.raises(ValueError, match="postgresql"):
            normalise_database_url(bad)


def test_defaults_and_list_settings() -> None:
    settings = CrmSettings.model_validate(
        {"database_url": GOOD_DB, "jwt_secret": GOOD_SECRET, "cors_origins": "http://a, http://b"}
    )
    assert settings.cors_origins == ["http://a", "http://b"]
    assert str(settings.public_base_url) == "http://127.0.0.1:8000/"
    assert settings.claim_batch_size == settings.relay_batch_size == 500
    assert len(settings.unsubscribe_key()) == 32
    assert GOOD_SECRET.encode() not in settings.unsubscribe_key()
    assert GOOD_SECRET not in repr(settings)
    as_json = CrmSettings.model_validate(
        {"database_url": GOOD_DB, "jwt_secret": GOOD_SECRET, "cors_origins": '["http://c"]'}
    )
    assert as_json.cors_origins == ["http://c"]
    with pytest.raises(ValidationError, match="unsubscribe_secret"):
        CrmSettings.model_validate(
            {"database_url": GOOD_DB, "jwt_secret": GOOD_SECRET, "unsubscribe_secret": "short"}
        )
