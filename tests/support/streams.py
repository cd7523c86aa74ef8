"""Reading what JetStream holds: the one place the tests list a stream's messages and
wait for a durable to have consumed them."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from tests.support.waiting import DEADLINE, eventually


@dataclass(frozen=True)
class Stored:
    """One message as the stream stores it."""

    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes


async def stream_messages(
    js: JetStreamContext, stream: str, subject: str | None = None
) -> list[Stored]:
    """Every message in ``stream`` (on ``subject`` when given), in order; none when the
    stream does not exist (yet). Test streams are small."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    found: list[Stored] = []
    for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
        try:
            raw = await js.get_msg(stream, seq=seq)
        except NotFoundError:  # deleted (a work queue, a limit): a gap
            continue
        if subject is None or raw.subject == subject:
            found.append(Stored(seq, raw.subject or "", dict(raw.headers or {}), raw.data or b""))
    return found


async def wait_consumed(
    js: JetStreamContext,
    stream: str,
    durable: str,
    seq: int | None = None,
    *,
    timeout: float = DEADLINE,
) -> None:
    """Until ``durable`` has acked (or terminated) every message of ``stream`` up to
    ``seq``: its handler is done with them, whatever it did. Without ``seq``: every
    message now in the stream, and nothing is left pending."""
    everything = seq is None
    last = (await js.stream_info(stream)).state.last_seq if seq is None else seq

    async def probe() -> bool:
        info = await js.consumer_info(stream, durable)
        floor = (info.ack_floor.stream_seq or 0) if info.ack_floor is not None else 0
        return floor >= last and (not everything or info.num_ack_pending == 0)

    await eventually(probe, timeout=timeout, what=f"{durable} to ack up to {last}")
