"""The composer's settings, and refusing to start when they are wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from realtoros_composer.settings import ComposerSettings

SECRET = "sk-test-never-print-me"


def settings(**values: Any) -> ComposerSettings:
    base: dict[str, Any] = {"openai_api_key": None, "composer_mode": "auto"}
    return ComposerSettings(_env_file=None, **{**base, **values})


def run_composer(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COMPOSER_"))}
    return subprocess.run(
        [sys.executable, "-m", "realtoros_composer"],
        env={**clean, "REALTOROS_SECRETS_DIR": "/nonexistent", **env},
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_defaults() -> None:
    s = settings()
    assert s.openai_model == "gpt-4o-mini"
    assert s.llm_timeout_seconds == 30
    assert s.llm_max_retries == 3
    assert s.llm_max_concurrency == 256
    assert s.llm_structured_output == "json_schema"
    assert s.openai_base_url is None
    assert s.llm_provider == "openai"
    assert (s.llm_rpm, s.llm_tpm) == (0, 0)
    assert s.composer_fallback_to_template is False


def test_auto_mode_uses_the_llm_only_with_a_key() -> None:
    assert settings().uses_llm is False
    assert settings(openai_api_key="").uses_llm is False
    assert settings(openai_api_key=SECRET).uses_llm is True
    assert settings(openai_api_key=SECRET, composer_mode="template").uses_llm is False
    assert settings(openai_api_key=SECRET, composer_mode="LLM").uses_llm is True


def test_llm_mode_without_a_key_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(composer_mode="llm")
    [error] = caught.value.errors()
    assert error["loc"] == ("openai_api_key",)
    assert "COMPOSER_MODE=llm" in error["msg"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("openai_base_url", "not a url"),
        ("openai_base_url", "ftp://llm.example"),
        ("composer_mode", "magic"),
        ("llm_structured_output", "yaml"),
        ("llm_max_concurrency", 0),
        ("llm_timeout_seconds", -1),
        ("llm_provider", "bedrock"),
        ("llm_rpm", -1),
        ("llm_tpm", -5),
        ("azure_openai_endpoint", "not a url"),
        ("composer_fallback_to_template", "perhaps"),
    ],
)
def test_bad_values_are_refused(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        settings(**{name: value})


def test_the_key_is_never_shown() -> None:
    s = settings(openai_api_key=SECRET)
    assert SECRET not in repr(s)
    assert SECRET not in str(s)
    assert SECRET not in s.model_dump_json()
    assert s.api_key == SECRET


def test_starting_in_llm_mode_without_a_key_exits_with_one_line(tmp_path: Path) -> None:
    done = run_composer(tmp_path, COMPOSER_MODE="llm")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "OPENAI_API_KEY" in lines[0]
    assert lines[0].startswith("composer: bad setting")


def test_a_bad_base_url_is_named_and_the_key_is_not_printed(tmp_path: Path) -> None:
    done = run_composer(
        tmp_path, COMPOSER_MODE="llm", OPENAI_API_KEY=SECRET, OPENAI_BASE_URL="nope"
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "OPENAI_BASE_URL" in lines[0]
    assert SECRET not in done.stdout + done.stderr


def test_azure_without_its_settings_exits_with_one_line_each(tmp_path: Path) -> None:
    done = run_composer(tmp_path, LLM_PROVIDER="azure", OPENAI_API_KEY=SECRET)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3, done.stderr
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_VERSION", "AZURE_OPENAI_DEPLOYMENT"):
        assert any(name in line and "LLM_PROVIDER=azure" in line for line in lines), name
    assert SECRET not in done.stdout + done.stderr
