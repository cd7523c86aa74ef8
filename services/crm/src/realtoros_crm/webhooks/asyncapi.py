"""The webhooks in the CRM's AsyncAPI document, beside the NATS channels: one HTTP channel
(its address is each subscriber's URL), one message per webhook type with the Standard
Webhooks headers and the payload's JSON Schema, and the operation that sends them."""

from __future__ import annotations

from typing import Any

from realtoros_contracts import Namespace
from realtoros_crm.webhooks.catalogue import WEBHOOK_TYPES, payload_model

HEADERS = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {"type": "string", "description": "The same on every attempt: dedupe by it."},
        "webhook-timestamp": {"type": "string", "description": "Seconds since the epoch, signed."},
        "webhook-signature": {
            "type": "string",
            "description": "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'> (Standard Webhooks).",
        },
    },
}
REF = "#/components/schemas/{model}"


def add_webhooks(spec: dict[str, Any], ns: Namespace) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    messages = components.setdefault("messages", {})
    in_channel: dict[str, Any] = {}
    for webhook_type in WEBHOOK_TYPES:
        schema = payload_model(webhook_type).model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[schema["title"]] = schema
        key = "webhook_" + webhook_type.name.replace(".", "_")
        messages[key] = {
            "name": webhook_type.name,
            "title": webhook_type.name,
            "summary": f"{webhook_type.summary} From {ns.subject(webhook_type.event)}.",
            "contentType": "application/json",
            "headers": HEADERS,
            "payload": {"$ref": REF.format(model=schema["title"])},
        }
        in_channel[key] = {"$ref": f"#/components/messages/{key}"}
    spec.setdefault("channels", {})["webhooks"] = {
        "address": None,
        "title": "Webhooks",
        "description": "HTTPS POSTs to the URLs agents subscribe (docs/integrations.md).",
        "messages": in_channel,
    }
    spec.setdefault("operations", {})["sendWebhook"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/webhooks"},
        "summary": "Signed deliveries, retried with exponential backoff for over a day.",
        "messages": [{"$ref": f"#/channels/webhooks/messages/{key}"} for key in in_channel],
    }
    return spec
