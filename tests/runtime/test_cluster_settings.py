"""The settings of a deployment on a JetStream cluster: several server URLs in NATS_URL,
and the replica count of every stream and bucket."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from realtoros_contracts import EVENT_MAX_AGE, LEDGER_MAX_AGE, Namespace
from realtoros_runtime.settings import ServiceSettings
from realtoros_runtime.streams import stream_config


def test_nats_url_takes_a_list_of_servers() -> None:
    settings = ServiceSettings(nats_url="nats://a:4222, nats://b:4222,nats://c:4222")  # type: ignore[arg-type]
    assert settings.nats_servers == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    assert ServiceSettings().nats_servers == ["nats://127.0.0.1:4222"]


@pytest.mark.parametrize("bad", ["http://a:4222", "nats://a:4222,not a url", ""])
def test_a_bad_server_url_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="nats_url"):
        ServiceSettings(nats_url=bad)  # type: ignore[arg-type]


def test_the_replica_count_reaches_every_stream() -> None:
    settings = ServiceSettings(jetstream_replicas="3")  # type: ignore[arg-type]
    assert settings.namespace.replicas == 3
    assert {stream_config(s).num_replicas for s in settings.namespace.streams()} == {3}
    assert {s.replicas for s in ServiceSettings().namespace.streams()} == {1}


@pytest.mark.parametrize("bad", ["2", "0", "7", "three"])
def test_a_replica_count_other_than_1_3_5_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="jetstream_replicas"):
        ServiceSettings(jetstream_replicas=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="replicas"):
        Namespace(replicas=2)


def test_the_send_ledger_outlives_every_redelivery() -> None:
    assert all(s.max_age_seconds <= EVENT_MAX_AGE for s in Namespace().streams()[:-1])
    assert LEDGER_MAX_AGE >= 4 * EVENT_MAX_AGE
