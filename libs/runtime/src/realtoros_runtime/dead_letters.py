"""Publishing a message a consumer could not process to its service's dead-letter subject,
with the reason and where it came from in ``x-dead-letter-*`` headers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from faststream.message import StreamMessage
from pydantic import ValidationError

if TYPE_CHECKING:
    from realtoros_runtime.publisher import EventPublisher

log = logging.getLogger(__name__)

H_DL_REASON = "x-dead-letter-reason"
H_DL_SERVICE = "x-dead-letter-service"
H_DL_SUBJECT = "x-dead-letter-subject"
H_DL_STREAM = "x-dead-letter-stream"
H_DL_SEQUENCE = "x-dead-letter-stream-seq"
H_DL_DELIVERIES = "x-dead-letter-deliveries"
H_DL_ERROR = "x-dead-letter-error"
DEAD_LETTER_HEADERS = (
    H_DL_REASON,
    H_DL_SERVICE,
    H_DL_SUBJECT,
    H_DL_STREAM,
    H_DL_SEQUENCE,
    H_DL_DELIVERIES,
    H_DL_ERROR,
)
"""Every header a dead letter carries (the AsyncAPI documents list them)."""


def one_line(text: str, limit: int = 1000) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "invalid event body: " + "; ".join(parts)


class DeadLetters:
    """Publishes a message that could not be processed to the service's dead-letter subject."""

    def __init__(self, publisher: EventPublisher, service: str) -> None:
        self._publisher = publisher
        self._service = service

    async def send(
        self, msg: StreamMessage[Any], *, reason: str, error: str, deliveries: int
    ) -> None:
        raw = msg.raw_message
        meta = raw.metadata
        ns = self._publisher.namespace
        headers = {k: v for k, v in (raw.headers or {}).items() if k != "Nats-Msg-Id"}
        headers |= {
            "Nats-Msg-Id": f"dl:{self._service}:{meta.stream}:{meta.sequence.stream}",
            H_DL_REASON: one_line(reason),
            H_DL_SERVICE: self._service,
            H_DL_SUBJECT: raw.subject,
            H_DL_STREAM: meta.stream,
            H_DL_SEQUENCE: str(meta.sequence.stream),
            H_DL_DELIVERIES: str(deliveries),
            H_DL_ERROR: error,
        }
        await self._publisher.publish_raw(
            ns.dead_letter_subject(self._service),
            raw.data,
            headers,
            stream=ns.dead_letter_stream().name,
        )
        log.error(
            "dead-lettered %s seq %s after %d deliveries: %s",
            raw.subject,
            meta.sequence.stream,
            deliveries,
            one_line(reason, 300),
        )
