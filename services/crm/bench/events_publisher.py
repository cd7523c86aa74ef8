"""The publishing side of ``events.py --via-nats``, in a process of its own so that its CPU
is not counted as the CRM's: reads ``<event type> <event id> <json>`` lines on stdin and
publishes them as the composer and the mailer would. Prints ``done`` at the end."""

from __future__ import annotations

import asyncio
import sys

from faststream.nats import NatsBroker

from realtoros_contracts import EmailComposed, EmailSent, Event, Namespace
from realtoros_runtime.publisher import EventPublisher

TYPES: dict[str, type[Event]] = {"composed": EmailComposed, "sent": EmailSent}


async def main(nats_url: str, namespace: str) -> None:
    lines = [line.split(" ", 2) for line in sys.stdin.read().splitlines()]
    broker = NatsBroker(nats_url)
    await broker.connect()
    try:
        publisher = EventPublisher(broker, Namespace(namespace), source="realtoros/bench")
        for kind, event_id, body in lines:
            await publisher.publish(TYPES[kind].model_validate_json(body), event_id=event_id)
    finally:
        await broker.stop()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
