"""A service's AsyncAPI document, from the code that publishes and consumes.

FastStream generates the channels and operations from the broker's subscribers (what the
service consumes) and its publisher objects (``Publications``: what it publishes, the same
objects every publish is checked against). FastStream 0.7 writes neither message headers
nor NATS bindings as the specifications define them, so this completes its document:

* every message gets its CloudEvents headers (``ce-*``, ``content-type``, ``Nats-Msg-Id``)
  and loses the ``correlation_id`` header FastStream names but nothing sends;
* channel bindings go: the NATS bindings specification says a channel binding "MUST NOT
  contain any properties"; the JetStream stream a channel is stored in is an ``x-``
  extension instead;
* the server carries no credentials from the URL and names its security scheme.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import yaml
from faststream.specification import AsyncAPI
from faststream.specification.base import Specification

from realtoros_contracts import Event, Namespace, StreamSpec
from realtoros_contracts.envelope import ENVELOPE_HEADERS, headers_schema
from realtoros_runtime.dead_letters import DEAD_LETTER_HEADERS
from realtoros_runtime.publications import Publications

if TYPE_CHECKING:
    from realtoros_runtime.bus import Bus

ASYNCAPI_VERSION = "3.1.0"
DOCUMENT_VERSION = "1.0.0"
SECURITY_SCHEME = "natsUser"


@dataclass(frozen=True)
class Document:
    """A finished document, in the shape FastStream's ASGI routes serve."""

    content: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.content["info"]["title"])

    def to_jsonable(self) -> Any:
        return self.content

    def to_json(self) -> str:
        return json.dumps(self.content)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.content, sort_keys=False)


class ServiceAsyncAPI(AsyncAPI):
    """FastStream's factory, with the document completed as the module says."""

    def __init__(self, bus: Bus, *, title: str, description: str) -> None:
        super().__init__(bus.broker, title=title, version=DOCUMENT_VERSION, description=description)
        self.bus = bus

    def to_specification(self) -> Specification:
        return Document(complete(super().to_specification().to_jsonable(), self.bus))


def complete(document: dict[str, Any], bus: Bus) -> dict[str, Any]:
    document["asyncapi"] = ASYNCAPI_VERSION
    document["servers"] = _servers(bus)
    components = document.setdefault("components", {})
    components["securitySchemes"] = {SECURITY_SCHEME: _security_scheme()}
    messages = components.get("messages", {})
    for channel in document.get("channels", {}).values():
        channel["servers"] = [{"$ref": "#/servers/nats"}]
        channel.pop("bindings", None)
        stream, headers = _channel_facts(channel["address"], bus.ns, bus.publications)
        if stream is not None:
            channel["x-jetstream-stream"] = _stream_facts(stream)
        for ref in channel.get("messages", {}).values():
            message = messages[_ref_name(ref)]
            message.pop("correlationId", None)
            message["contentType"] = "application/json"
            if headers is not None:
                message["headers"] = headers
    _name_durables(document, bus)
    return document


def _name_durables(document: dict[str, Any], bus: Bus) -> None:
    """Each ``receive`` operation names the service's durable consumer (other systems must
    choose other names: their read-only user is refused these)."""
    durables = {
        key: durable
        for sub in bus.broker.subscribers
        # A pull subscriber's ConsumerConfig (FastStream types subscribers generically).
        if (durable := getattr(getattr(sub, "config", None), "durable_name", None))
        for key in sub.schema()
    }
    for operation in document.get("operations", {}).values():
        durable = durables.get(_ref_name(operation["channel"]))
        if operation["action"] == "receive" and durable:
            operation["x-jetstream-durable"] = durable


def _ref_name(reference: dict[str, str]) -> str:
    return unquote(reference["$ref"].rsplit("/", 1)[-1])


def _servers(bus: Bus) -> dict[str, Any]:
    url = bus.settings.nats_url[0]  # a cluster's first server stands for all of them
    tls = url.scheme in ("tls", "wss") or bus.settings.nats_tls_ca is not None
    return {
        "nats": {
            # Host and port only: never the user or password a URL may carry.
            "host": f"{url.host}:{url.port}" if url.port else str(url.host),
            "protocol": "nats",
            "description": "NATS with JetStream"
            + (", TLS required." if tls else " (no TLS: a local development server)."),
            "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
        }
    }


def _security_scheme() -> dict[str, str]:
    return {
        "type": "userPassword",
        "description": "A NATS user and password. Each service has its own user, allowed "
        "only its own subjects; other systems get the read-only subscriber user "
        "(docs/events.md: Connecting).",
    }


def _channel_facts(
    address: str, ns: Namespace, publications: Publications
) -> tuple[StreamSpec | None, dict[str, Any] | None]:
    """The stream a channel is kept in and the headers of its messages."""
    publication = publications.get(address)
    if publication is not None and publication.event is None:
        return ns.dead_letter_stream(), _dead_letter_headers()
    event_cls = publication.event if publication else ns.event_for_subject(address)
    if event_cls is None:
        return None, None
    return ns.stream_for(event_cls), _event_headers(event_cls)


def _event_headers(event_cls: type[Event]) -> dict[str, Any]:
    return headers_schema(event_cls, source=f"realtoros/{event_cls.PRODUCER}")


def _dead_letter_headers() -> dict[str, Any]:
    text = {"type": "string"}
    original = "The failed message's own, when it had one."
    properties: dict[str, Any] = {
        name: {**text, "description": original} for name in ENVELOPE_HEADERS
    }
    properties |= {name: dict(text) for name in DEAD_LETTER_HEADERS}
    properties["Nats-Msg-Id"] = {**text, "description": "dl:<service>:<stream>:<sequence>"}
    return {
        "type": "object",
        "description": "The failed message's own headers (its envelope, when it had one), "
        "plus the x-dead-letter-* headers saying why.",
        "properties": properties,
        "required": ["Nats-Msg-Id", *DEAD_LETTER_HEADERS],
    }


def _stream_facts(stream: StreamSpec) -> dict[str, Any]:
    return {
        "name": stream.name,
        "retention": "limits",
        "maxAgeSeconds": stream.max_age_seconds,
        "duplicateWindowSeconds": stream.duplicate_window_seconds,
    }


def channel_addresses(document: dict[str, Any], action: str) -> Sequence[str]:
    """The NATS subjects of a document's ``send`` or ``receive`` operations (a channel
    without an address, such as the CRM's webhooks over HTTP, is not a subject)."""
    channels = document["channels"]
    addresses = (
        channels[_ref_name(op["channel"])]["address"]
        for op in document["operations"].values()
        if op["action"] == action
    )
    return sorted(address for address in addresses if address is not None)
