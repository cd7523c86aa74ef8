"""Settings: each bad value stops the mailer with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from realtoros_mailer.settings import DEFAULT_FILE_FROM, MailerSettings
from realtoros_runtime.settings import settings_errors

KEYS = {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "secret"}
SES = {"mail_transport": "ses", "ses_from_address": "notifications@mail.example.com"}


def make(**values: Any) -> MailerSettings:
    return MailerSettings(_env_file=None, **values)


def errors(**values: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        make(**values)
    return settings_errors(caught.value)


def test_file_transport_needs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALTOROS_DATA_DIR", str(tmp_path))
    settings = make()
    assert settings.mail_transport == "file"
    assert settings.mail_outbox_dir == tmp_path / "outbox"
    assert settings.from_address == DEFAULT_FILE_FROM


def test_ses_with_keys_and_sender() -> None:
    settings = make(**SES, **KEYS)
    assert settings.from_address == "notifications@mail.example.com"


def test_ses_sender_may_be_on_a_test_domain() -> None:
    settings = make(**(SES | KEYS | {"ses_from_address": "notifications@mail.realtoros.test"}))
    assert settings.from_address == "notifications@mail.realtoros.test"


def test_ses_may_take_credentials_from_a_profile() -> None:
    make(**SES, aws_profile="mailer")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"mail_transport": "ses", **KEYS}, "SES_FROM_ADDRESS: required when MAIL_TRANSPORT=ses"),
        ({**SES}, "AWS_ACCESS_KEY_ID: required when MAIL_TRANSPORT=ses"),
        ({**SES, "aws_access_key_id": "AKIAEXAMPLE"}, "AWS_SECRET_ACCESS_KEY: required"),
        ({**SES, **KEYS, "ses_from_address": "not-an-address"}, "SES_FROM_ADDRESS: not a valid"),
        ({**SES, **KEYS, "ses_endpoint_url": "localhost:4566"}, "SES_ENDPOINT_URL: "),
        ({"mail_transport": "sendgrid"}, "MAIL_TRANSPORT: "),
        ({"sns_cert_url_pattern": "https://evil"}, "SNS_CERT_URL_PATTERN: "),
        ({"ses_max_send_rate": 0}, "SES_MAX_SEND_RATE: "),
        ({"mail_from_address": "nobody"}, "MAIL_FROM_ADDRESS: "),
        ({**SES, **KEYS, "ses_configuration_set": "a b"}, "SES_CONFIGURATION_SET: "),
    ],
)
def test_bad_values_name_the_setting(values: dict[str, Any], expected: str) -> None:
    lines = errors(**values)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected)


def test_mailer_refuses_to_start_without_ses_sender(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAIL_", "SES_", "AWS_", "REALTOROS_"))
    }
    env |= {
        "MAIL_TRANSPORT": "ses",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "REALTOROS_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "realtoros_mailer"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "mailer: bad setting SES_FROM_ADDRESS: required when MAIL_TRANSPORT=ses"
    ]


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SES_CONFIGURATION_SET", "")
    monkeypatch.setenv("SES_ENDPOINT_URL", "")
    settings = make(**SES, **KEYS)
    assert settings.ses_configuration_set is None
    assert settings.ses_endpoint_url is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"mail_inbound_domain": "replies.example.com"}, "MAIL_REPLY_SECRET: required when"),
        (
            {"mail_inbound_domain": "replies.example.com", "mail_reply_secret": "short"},
            "MAIL_REPLY_SECRET: must be at least 32 characters",
        ),
        (
            {"mail_inbound_domain": "not a domain", "mail_reply_secret": "s" * 32},
            "MAIL_INBOUND_DOMAIN",
        ),
        ({"mail_inbound_smtp_port": 70000}, "MAIL_INBOUND_SMTP_PORT"),
    ],
)
def test_bad_reply_settings_are_named(values: dict[str, Any], expected: str) -> None:
    assert any(line.startswith(expected) for line in errors(**values)), errors(**values)


def test_replies_are_off_unless_a_domain_is_set() -> None:
    assert make().mail_inbound_domain is None
    on = make(mail_inbound_domain="replies.example.com", mail_reply_secret="s" * 32)
    assert on.reply_key() == b"s" * 32
