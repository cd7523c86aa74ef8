"""The webhook catalogue for outsiders: every type is documented in docs/events.md beside
its NATS subject and listed in the AsyncAPI document; each payload matches its JSON
Schema and carries personal data only with the clients:read scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from realtoros_contracts import DEFAULT_NAMESPACE
from realtoros_crm.webhooks.catalogue import (
    WEBHOOK_TYPES,
    ClientContact,
    WebhookType,
    webhook_schemas,
)
from tests.crm.helpers import Crm
from tests.support.samples import samples

EVENTS_MD = Path(__file__).parents[2] / "docs" / "events.md"
CONTACT = ClientContact(name="Jordan Lee", email="jordan@example.com", phone="555 0101")


def test_every_webhook_type_is_documented_beside_its_subject() -> None:
    webhooks = EVENTS_MD.read_text().split("## Webhooks", 1)[1]
    for webhook_type in WEBHOOK_TYPES:
        row = f"| `{webhook_type.name}` | `{DEFAULT_NAMESPACE.subject(webhook_type.event)}` |"
        assert row in webhooks, row


@pytest.mark.parametrize("webhook_type", WEBHOOK_TYPES, ids=lambda t: t.name)
def test_a_payload_matches_its_schema_and_its_scope(webhook_type: WebhookType) -> None:
    [event] = [e for e in samples() if type(e) is webhook_type.event]
    schema = webhook_schemas()[webhook_type.name]
    jsonschema.Draft202012Validator.check_schema(schema)
    at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    bare = json.loads(webhook_type.payload(event, None, at))
    full = json.loads(webhook_type.payload(event, CONTACT, at))
    for payload in (bare, full):
        jsonschema.validate(payload, schema)
        assert payload["type"] == webhook_type.name
    assert "client" not in bare["data"]
    assert "@" not in json.dumps(bare)  # no address of anyone, bounce recipients included
    assert full["data"]["client"]["email"] == "jordan@example.com"


async def test_the_asyncapi_document_lists_the_webhooks(crm: Crm) -> None:
    document = (await crm.http.get("/asyncapi.json")).json()
    channel = document["channels"]["webhooks"]
    assert len(channel["messages"]) == len(WEBHOOK_TYPES)
    messages = document["components"]["messages"]
    for webhook_type in WEBHOOK_TYPES:
        message = messages["webhook_" + webhook_type.name.replace(".", "_")]
        assert crm.state.bus.ns.subject(webhook_type.event) in message["summary"]
        model = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert document["components"]["schemas"][model]["properties"]["type"]["const"] == (
            webhook_type.name
        )
    assert document["operations"]["sendWebhook"]["action"] == "send"
    assert "$defs" not in json.dumps(document["components"]["schemas"])
