"""The services' AsyncAPI documents: complete (every event is a ``send`` of its producer's
document), true to the wire (CloudEvents headers, no correlation_id, NATS bindings as
the bindings specification allows), committed as generated, and valid for the official
AsyncAPI CLI. tests/e2e/test_event_catalogue.py checks them against what is published."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from faststream.nats import NatsBroker

from realtoros_contracts import ALL_EVENTS, DEFAULT_NAMESPACE, EmailSent, TaskDue
from realtoros_contracts.consumers import SERVICE_DURABLES
from realtoros_runtime.asyncapi import ASYNCAPI_VERSION, channel_addresses
from realtoros_runtime.publications import Publications, UndeclaredPublication
from realtoros_runtime.publisher import EventPublisher
from tests.support.asyncapi_docs import COMMITTED, render, service_documents
from tests.support.samples import sample

REPO = Path(__file__).resolve().parents[2]
CLI_IN_TOOLS = REPO / ".data" / "tools" / "asyncapi" / "node_modules" / ".bin" / "asyncapi"
NS = DEFAULT_NAMESPACE


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return service_documents()


NATS_SERVER = {"$ref": "#/servers/nats"}


def nats_channels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The channels on NATS (the CRM's webhooks go over HTTPS: docs/integrations.md)."""
    return [c for c in document["channels"].values() if NATS_SERVER in c.get("servers", [])]


def messages_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of the NATS channels."""
    refs = {m["$ref"] for c in nats_channels(document) for m in c.get("messages", {}).values()}
    messages = document["components"]["messages"]
    return [messages[unquote(ref.rsplit("/", 1)[-1])] for ref in refs]


def test_the_committed_documents_are_the_generated_ones(
    documents: dict[str, dict[str, Any]],
) -> None:
    committed = {path.stem for path in COMMITTED.glob("*.json")}
    assert committed == set(documents), "run `make asyncapi`"
    for name, document in documents.items():
        on_disk = (COMMITTED / f"{name}.json").read_text()
        assert on_disk == render(document), f"docs/events/asyncapi/{name}.json: run `make asyncapi`"


def test_every_event_is_sent_by_its_producers_document_and_no_other(
    documents: dict[str, dict[str, Any]],
) -> None:
    for event_cls in ALL_EVENTS:
        subject = NS.tick_subject("due-tasks") if event_cls.PRODUCER == "scheduler" else None
        subject = subject or NS.subject(event_cls)
        senders = [n for n, d in documents.items() if subject in channel_addresses(d, "send")]
        assert senders == [event_cls.PRODUCER], f"{event_cls.TYPE} is sent by {senders}"


def test_whatever_a_service_receives_another_sends(documents: dict[str, dict[str, Any]]) -> None:
    sent = {s for d in documents.values() for s in channel_addresses(d, "send")}
    for name, document in documents.items():
        for subject in channel_addresses(document, "receive"):
            pattern = subject.removesuffix("*")
            assert any(s.startswith(pattern) for s in sent), f"{name} receives {subject}"


def test_every_message_carries_its_cloudevents_headers_and_no_correlation_id(
    documents: dict[str, dict[str, Any]],
) -> None:
    types = {event_cls.TYPE for event_cls in ALL_EVENTS}
    seen = set()
    for document in documents.values():
        assert document["asyncapi"] == ASYNCAPI_VERSION
        for message in messages_of(document):
            assert "correlationId" not in message
            headers = message["headers"]["properties"]
            for header in ("ce-id", "ce-source", "ce-time", "ce-type", "Nats-Msg-Id"):
                assert header in headers
            if "const" in headers["ce-type"]:  # not dead letters: any type fails
                seen.add(headers["ce-type"]["const"])
    assert seen == types


def test_the_headers_documented_are_the_headers_sent(documents: dict[str, dict[str, Any]]) -> None:
    published = {"ce-specversion", "ce-id", "ce-source", "ce-type", "ce-time", "ce-subject"}
    published |= {"content-type", "Nats-Msg-Id"}
    for document in documents.values():
        for message in messages_of(document):
            if "const" in message["headers"]["properties"]["ce-type"]:
                assert set(message["headers"]["required"]) == published


def test_channels_carry_no_nats_binding_properties(documents: dict[str, dict[str, Any]]) -> None:
    # The NATS bindings specification: a channel binding "MUST NOT contain any properties".
    for document in documents.values():
        for channel in nats_channels(document):
            assert channel.get("bindings", {}).get("nats", {}) == {}
            assert channel["x-jetstream-stream"]["retention"] == "limits"


def test_the_document_names_no_credentials() -> None:
    documents = service_documents(nats_url="tls://nats.example.com:4222")
    server = documents["mailer"]["servers"]["nats"]
    assert server["host"] == "nats.example.com:4222"
    assert "TLS required" in server["description"]


def test_a_service_cannot_publish_what_its_document_does_not_describe() -> None:
    broker = NatsBroker()
    publications = Publications(broker, NS, "mailer")
    publications.declare_events([EmailSent])
    publisher = EventPublisher(broker, NS, "realtoros/mailer", publications=publications)
    task_due = sample(TaskDue)
    with pytest.raises(UndeclaredPublication, match=r"realtoros\.crm\.task\.due"):
        publications.check(NS.subject(task_due))
    assert publisher.publications is publications


def asyncapi_cli() -> str | None:
    if CLI_IN_TOOLS.exists():
        return str(CLI_IN_TOOLS)
    return shutil.which("asyncapi")


def test_the_official_asyncapi_cli_validates_every_document(
    documents: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    cli = asyncapi_cli()
    if cli is None:
        message = "@asyncapi/cli is not installed (./dev test installs it when npm is there)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    settings = tmp_path / "analytics.json"  # no tracking, no writes to $HOME
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(settings)}
    running = {}
    for name, document in documents.items():  # at once: each CLI start costs seconds
        path = tmp_path / f"{name}.json"
        path.write_text(render(document))
        command = [cli, "validate", str(path), "--fail-severity", "warn"]
        running[name] = subprocess.Popen(
            [*command, "--diagnostics-format", "text"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    for name, proc in running.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: {output}"


def test_each_receive_names_its_services_durable(documents: dict[str, dict[str, Any]]) -> None:
    for name, document in documents.items():
        for operation in document["operations"].values():
            if operation["action"] == "receive":
                durable = operation["x-jetstream-durable"]
                assert durable in SERVICE_DURABLES[name], (name, durable)
