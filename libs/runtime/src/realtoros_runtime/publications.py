"""What a service publishes, declared once.

Each declaration is a FastStream publisher object (so it is a "send" operation of the
service's AsyncAPI document) and the gate every publish of the service passes: a subject
that was never declared is refused, so the document cannot leave out something the
service publishes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from faststream.nats import NatsBroker

from realtoros_contracts import Event, Namespace, SchedulerTick


class UndeclaredPublication(RuntimeError):
    """A service tried to publish on a subject its AsyncAPI document does not describe."""


@dataclass(frozen=True)
class Publication:
    subject: str
    stream: str
    event: type[Event] | None
    """None for dead letters: their body is whatever the failed message carried."""
    description: str


def _summary(event_cls: type[Event]) -> str:
    return " ".join((event_cls.__doc__ or event_cls.__name__).split())


class Publications:
    """The subjects one service publishes on, each with its FastStream publisher."""

    def __init__(self, broker: NatsBroker, ns: Namespace, service: str) -> None:
        self._broker = broker
        self._ns = ns
        self.service = service
        self._by_subject: dict[str, Publication] = {}

    def declare_events(self, events: Iterable[type[Event]]) -> None:
        """Declare events that have one subject each (ticks need their schedule: see
        :meth:`declare_event`)."""
        for event_cls in events:
            if event_cls is not SchedulerTick:
                self.declare_event(event_cls)

    def declare_event(self, event_cls: type[Event], subject: str | None = None) -> None:
        self._add(
            Publication(
                subject=subject or self._ns.subject(event_cls),
                stream=self._ns.stream_for(event_cls).name,
                event=event_cls,
                description=_summary(event_cls),
            )
        )

    def declare_dead_letters(self) -> None:
        """The service consumes, so it may dead-letter what it cannot process."""
        self._add(
            Publication(
                subject=self._ns.dead_letter_subject(self.service),
                stream=self._ns.dead_letter_stream().name,
                event=None,
                description=f"Messages the {self.service} could not process: the original "
                "body and headers plus x-dead-letter-* headers saying why.",
            )
        )

    def _add(self, publication: Publication) -> None:
        if publication.subject in self._by_subject:
            return
        self._by_subject[publication.subject] = publication
        self._broker.publisher(
            publication.subject,
            title=f"{publication.subject}:Publisher",
            description=publication.description,
            schema=publication.event,
        )

    def check(self, subject: str) -> None:
        if subject not in self._by_subject:
            raise UndeclaredPublication(
                f"{self.service} may not publish on {subject!r}: its AsyncAPI document does "
                "not describe it (declare it in realtoros_runtime.publications)"
            )

    def get(self, subject: str) -> Publication | None:
        return self._by_subject.get(subject)

    def __iter__(self) -> Iterator[Publication]:
        return iter(self._by_subject.values())
