"""The NATS connection settings every service shares: its own user, TLS from a CA, and no
credentials in a URL (it would reach logs and the AsyncAPI document)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from realtoros_runtime.connection import nats_connect_options
from realtoros_runtime.settings import ServiceSettings, settings_errors


def settings(**values: object) -> ServiceSettings:
    return ServiceSettings.model_validate(values)


def test_a_user_comes_with_its_password() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(nats_user="realtoros-crm")
    assert any("NATS_PASSWORD" in line for line in settings_errors(caught.value))


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(nats_url="nats://crm:secret@nats:4222")
    (line,) = settings_errors(caught.value)
    assert "NATS_USER/NATS_PASSWORD" in line
    assert "secret" not in line


def test_a_user_connects_with_its_own_inbox_prefix() -> None:
    options = nats_connect_options(settings(nats_user="realtoros-crm", nats_password="pw"))
    assert options["inbox_prefix"] == "_INBOX_realtoros-crm"
    assert options["security"].username == "realtoros-crm"
    assert nats_connect_options(settings()) == {}
