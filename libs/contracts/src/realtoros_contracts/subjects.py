"""Subject, stream and bucket names, defined once.

Every name is derived from a namespace (``realtoros`` in production) so that a test run
or a second deployment on one NATS server gets names of its own:
``<ns>.<producer>.<entity>.<action>``, e.g. ``realtoros.crm.task.due``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from realtoros_contracts.events import ALL_EVENTS, Event, SchedulerTick

_NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

DAY = 24 * 3600
EVENT_MAX_AGE = 7 * DAY
"""How long a stream keeps an event: the longest any message can still be redelivered."""
TICK_MAX_AGE = 3600
"""How long the scheduler's stream keeps a tick: an hour (a tick is stale once the next
has been published; a few ticks a second kept a day would be hundreds of thousands)."""
LEDGER_MAX_AGE = 30 * DAY
"""How long the mailer's send ledger keeps an email's entry: far longer than the longest
redelivery horizon (:data:`EVENT_MAX_AGE`), so no delivery outlives its ledger entry."""
REPLICA_COUNTS = (1, 3, 5)
"""Replicas a stream or bucket may have: 1 on one server, 3 or 5 on a JetStream cluster
(an odd number, so a majority — the quorum — survives a lost server)."""
DEAD_LETTER_MAX_AGE_DAYS = 30
DEAD_LETTER_MAX_MESSAGES = 100_000
DEAD_LETTER_MAX_BYTES = 1024**3
"""The dead-letter stream's limits (docs/operations.md): a month, 100,000 letters, 1 GiB,
whichever comes first; beyond them the oldest go."""


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream, described without depending on a NATS client."""

    name: str
    subjects: tuple[str, ...]
    max_age_seconds: int
    duplicate_window_seconds: int = 600
    description: str = ""
    replicas: int = 1
    max_messages: int = -1
    """-1: no limit; else the oldest are discarded beyond it (as beyond ``max_bytes``)."""
    max_bytes: int = -1


@dataclass(frozen=True)
class Namespace:
    """The names of one RealtorOS deployment on a NATS server (or cluster), and how many
    servers keep a copy of each of its streams and buckets (``replicas``)."""

    name: str = "realtoros"
    producers: tuple[str, ...] = field(
        default=("scheduler", "crm", "composer", "mailer"), repr=False
    )
    replicas: int = 1

    def __post_init__(self) -> None:
        if not _NAMESPACE_RE.match(self.name):
            raise ValueError(
                f"namespace {self.name!r} must be lower-case letters, digits or '_' "
                "and start with a letter"
            )
        if self.replicas not in REPLICA_COUNTS:
            raise ValueError(f"replicas must be one of {REPLICA_COUNTS}, not {self.replicas}")

    # subjects ------------------------------------------------------------------------
    def subject(self, event: type[Event] | Event) -> str:
        """The subject an event is published on (ticks: see :meth:`tick_subject`)."""
        if isinstance(event, SchedulerTick):
            return self.tick_subject(event.schedule)
        if event is SchedulerTick:
            raise ValueError("ticks have one subject per schedule: use tick_subject()")
        return f"{self.name}.{event.PRODUCER}.{event.ENTITY}.{event.ACTION}"

    def tick_subject(self, schedule: str) -> str:
        return f"{self.name}.scheduler.tick.{schedule}"

    def all_ticks(self) -> str:
        return f"{self.name}.scheduler.tick.*"

    def event_for_subject(self, subject: str) -> type[Event] | None:
        """The event class published on ``subject``, or None for a subject not ours."""
        if subject.startswith(f"{self.name}.scheduler.tick."):
            return SchedulerTick
        for event_cls in ALL_EVENTS:
            if event_cls is not SchedulerTick and self.subject(event_cls) == subject:
                return event_cls
        return None

    def dead_letter_subject(self, service: str) -> str:
        """Where a service puts the messages it could not process, with the reason."""
        return f"{self.name}.deadletter.{service}"

    def all_dead_letters(self) -> str:
        return f"{self.name}.deadletter.>"

    # streams -------------------------------------------------------------------------
    def stream_name(self, producer: str) -> str:
        return f"{self.name.upper()}_{producer.upper()}"

    def streams(self) -> tuple[StreamSpec, ...]:
        """Every stream of the deployment. Events are kept a week so a new subscriber can
        replay; ticks only an hour; dead letters a month (and at most 100,000 or 1 GiB)."""
        specs = [
            StreamSpec(
                name=self.stream_name(producer),
                subjects=(f"{self.name}.{producer}.>",),
                max_age_seconds=TICK_MAX_AGE if producer == "scheduler" else EVENT_MAX_AGE,
                description=f"Events published by the {producer} service.",
                replicas=self.replicas,
            )
            for producer in self.producers
        ]
        specs.append(
            StreamSpec(
                name=self.stream_name("deadletter"),
                subjects=(f"{self.name}.deadletter.>",),
                max_age_seconds=DEAD_LETTER_MAX_AGE_DAYS * DAY,
                description="Messages a consumer could not process, with the reason.",
                replicas=self.replicas,
                max_messages=DEAD_LETTER_MAX_MESSAGES,
                max_bytes=DEAD_LETTER_MAX_BYTES,
            )
        )
        return tuple(specs)

    def stream_for(self, event: type[Event] | Event) -> StreamSpec:
        return self._stream(self.stream_name(event.PRODUCER))

    def dead_letter_stream(self) -> StreamSpec:
        return self._stream(self.stream_name("deadletter"))

    def _stream(self, name: str) -> StreamSpec:
        return next(spec for spec in self.streams() if spec.name == name)

    # key-value buckets ---------------------------------------------------------------
    def bucket(self, purpose: str) -> str:
        """A KV bucket name, e.g. ``realtoros_leader`` or ``realtoros_send_ledger``."""
        return f"{self.name}_{purpose}"


def inbox_prefix(user: str) -> str:
    """The reply subjects of a NATS user (nats-py's ``inbox_prefix``): each user may read
    only its own, so nobody sees the messages a fetch delivers to another."""
    return f"_INBOX_{user}"


def published_by(producer: str) -> tuple[type[Event], ...]:
    """Every event the ``producer`` service publishes (its subjects start with its name, so
    no service can publish another's events)."""
    return tuple(event_cls for event_cls in ALL_EVENTS if producer == event_cls.PRODUCER)


DEFAULT_NAMESPACE = Namespace()
