"""``realtoros-dev deadletters``: list, show and replay the dead letters of a deployment.

A dead letter is a message a consumer gave up on, kept in the stream ``<NS>_DEADLETTER``
on ``<ns>.deadletter.<service>`` with the original body and headers plus the
``x-dead-letter-*`` headers the runtime adds (reason, service, subject, deliveries…).

Replay republishes the original body and headers (minus ``x-dead-letter-*``) to the
original subject with a fresh ``Nats-Msg-Id`` — ``<ce-id>:replay:<n>`` — so JetStream's
de-duplication does not drop it, records ``n`` in ``x-replay-count`` (a dead letter of a
replay is replayed as ``n + 1``), and deletes the dead letter from its stream so it is
not replayed twice. Two dead letters of one message (two services gave up on it) replay
as the same id: one copy reaches every consumer of the subject. Replay skips (and
deletes) what is stale — ticks, and with ``--database-url`` events about an email, task
or client that no longer exists (``realtoros_devstack.stale``) — and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TextIO

import asyncpg
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from realtoros_devstack.stale import Staleness

DEFAULT_NATS_URL = "nats://127.0.0.1:14222"  # `./dev run`'s embedded server
DEAD_LETTER_PREFIX = "x-dead-letter-"
REPLAY_COUNT = "x-replay-count"
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    headers: dict[str, str]
    body: bytes
    time: str

    def header(self, name: str) -> str:
        return self.headers.get(f"{DEAD_LETTER_PREFIX}{name}", "")

    @property
    def service(self) -> str:
        return self.header("service") or self.subject.rsplit(".", 1)[-1]

    def replay_headers(self) -> dict[str, str]:
        """The original headers with a fresh message id and the replay count."""
        kept = {
            key: value
            for key, value in self.headers.items()
            # Nats-* are JetStream's own (message id, expected stream): set afresh.
            if not key.lower().startswith((DEAD_LETTER_PREFIX, "nats-"))
        }
        count = int(self.headers.get(REPLAY_COUNT, "0") or 0) + 1
        original = self.headers.get("ce-id") or f"deadletter-{self.seq}"
        kept[REPLAY_COUNT] = str(count)
        kept["Nats-Msg-Id"] = f"{original}:replay:{count}"
        return kept


class DeadLetterStore:
    """The dead-letter stream of one namespace."""

    def __init__(self, js: JetStreamContext, namespace: str) -> None:
        self._js = js
        self.namespace = namespace
        self.stream = f"{namespace.upper()}_DEADLETTER"

    def subject(self, service: str | None) -> str:
        return f"{self.namespace}.deadletter.{service or '>'}"

    async def iterate(self, service: str | None = None) -> AsyncIterator[DeadLetter]:
        """Every dead letter (of ``service``), oldest first."""
        seq = 1
        while True:
            try:
                raw = await self._js.get_msg(
                    self.stream, seq=seq, subject=self.subject(service), next=True
                )
            except NotFoundError:
                return
            letter = _letter(raw)
            yield letter
            seq = letter.seq + 1

    async def get(self, seq: int) -> DeadLetter:
        return _letter(await self._js.get_msg(self.stream, seq=seq))

    async def replay(self, letter: DeadLetter) -> tuple[str, bool]:
        """Republish ``letter`` to its original subject, then delete it. Returns the new
        message id and whether JetStream took the publish as a duplicate."""
        target = letter.header("subject")
        if not target:
            raise ValueError(f"dead letter {letter.seq} has no {DEAD_LETTER_PREFIX}subject")
        headers = letter.replay_headers()
        stream = letter.header("stream") or None
        ack = await self._js.publish(target, letter.body, stream=stream, headers=headers)
        await self.delete(letter)
        return headers["Nats-Msg-Id"], bool(ack.duplicate)

    async def delete(self, letter: DeadLetter) -> None:
        await self._js.delete_msg(self.stream, letter.seq)


def _letter(raw: RawStreamMsg) -> DeadLetter:
    assert raw.seq is not None
    assert raw.subject is not None
    return DeadLetter(
        seq=raw.seq,
        subject=raw.subject,
        headers={str(k): str(v) for k, v in (raw.headers or {}).items()},
        body=raw.data or b"",
        time=raw.time.isoformat() if raw.time else "",
    )


# --- the command -------------------------------------------------------------------------


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "deadletters",
        help="list, show and replay dead letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--nats-url",
        default=os.environ.get("NATS_URL", DEFAULT_NATS_URL),
        help="NATS server (default: $NATS_URL or %(default)s)",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("NATS_NAMESPACE", "realtoros"),
        help="the deployment's namespace (default: $NATS_NAMESPACE or %(default)s)",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per dead letter, oldest first")
    listing.add_argument("--service", help="only this service's dead letters")
    listing.add_argument("--limit", type=int, default=100, help="at most N (default 100)")
    show = actions.add_parser("show", help="one dead letter with its headers and body")
    show.add_argument("seq", type=int, help="its sequence in the dead-letter stream")
    replay = actions.add_parser("replay", help="republish to the original subject, then delete")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("seq", type=int, nargs="?", help="the dead letter's sequence")
    which.add_argument("--all", action="store_true", help="every dead letter (of --service)")
    replay.add_argument("--service", help="with --all: only this service's dead letters")
    replay.add_argument(
        "--database-url",
        help="the CRM's database: also skip events of deleted emails, tasks, clients "
        "(without it only ticks are skipped as stale)",
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        return asyncio.run(_run(args, out))
    except (OSError, TimeoutError, nats.errors.NoServersError) as exc:
        print(f"realtoros-dev deadletters: cannot reach {args.nats_url}: {exc}", file=sys.stderr)
        return 1
    except NotFoundError:
        print("realtoros-dev deadletters: no such dead letter (or stream)", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"realtoros-dev deadletters: {exc}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    # nats.py retries an initial connect on its own: bound it, and keep its log quiet.
    nc: NATS = await asyncio.wait_for(
        nats.connect(
            args.nats_url,
            connect_timeout=3,
            max_reconnect_attempts=1,
            allow_reconnect=False,
            error_cb=_quiet,
        ),
        CONNECT_TIMEOUT,
    )
    try:
        store = DeadLetterStore(nc.jetstream(), args.namespace)
        if args.action == "list":
            await _list(store, args.service, args.limit, out)
        elif args.action == "show":
            _show(await store.get(args.seq), out)
        else:
            await _replay(store, args, out)
    finally:
        await nc.close()
    return 0


async def _replay(store: DeadLetterStore, args: argparse.Namespace, out: TextIO) -> None:
    database = await _connect_database(args.database_url)
    try:
        stale = Staleness(database)
        if args.all:
            await _replay_all(store, stale, args.service, out)
        else:
            await _replay_one(store, stale, await store.get(args.seq), out)
    finally:
        if database is not None:
            await database.close()


async def _connect_database(url: str | None) -> asyncpg.Connection | None:
    if not url:
        return None
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return await asyncio.wait_for(asyncpg.connect(plain), CONNECT_TIMEOUT)


async def _quiet(exc: Exception) -> None:
    return None


async def _list(store: DeadLetterStore, service: str | None, limit: int, out: TextIO) -> None:
    shown = 0
    async for letter in store.iterate(service):
        if shown >= limit:
            print(f"… more (raise --limit above {limit})", file=out)
            return
        reason = " ".join(letter.header("reason").split())[:120]
        print(
            f"{letter.seq:>8}  {letter.time[:19]}  {letter.service:<10} "
            f"{letter.header('subject'):<40} deliveries={letter.header('deliveries') or '?'} "
            f"{letter.header('error')}: {reason}",
            file=out,
        )
        shown += 1
    if not shown:
        print("no dead letters", file=out)


def _show(letter: DeadLetter, out: TextIO) -> None:
    print(f"seq {letter.seq} on {letter.subject} at {letter.time}", file=out)
    for key in sorted(letter.headers):
        print(f"  {key}: {letter.headers[key]}", file=out)
    try:
        body = json.dumps(json.loads(letter.body), indent=2, sort_keys=True)
    except ValueError:
        body = letter.body.decode(errors="replace")
    print(body, file=out)


async def _replay_one(
    store: DeadLetterStore, stale: Staleness, letter: DeadLetter, out: TextIO
) -> bool:
    """Replay ``letter``, or skip (and delete) it when stale; whether it was replayed."""
    if (reason := await stale.reason(letter)) is not None:
        await store.delete(letter)
        print(f"skipped {letter.seq} ({letter.header('subject')}): stale, {reason}", file=out)
        return False
    msg_id, duplicate = await store.replay(letter)
    note = " (same message as another replay: one copy)" if duplicate else ""
    print(f"replayed {letter.seq} to {letter.header('subject')} as {msg_id}{note}", file=out)
    return True


async def _replay_all(
    store: DeadLetterStore, stale: Staleness, service: str | None, out: TextIO
) -> None:
    letters: Sequence[DeadLetter] = [letter async for letter in store.iterate(service)]
    replayed = [await _replay_one(store, stale, letter, out) for letter in letters]
    skipped = replayed.count(False)
    print(f"replayed {replayed.count(True)} dead letter(s), skipped {skipped} stale", file=out)
