"""TaskDue / DraftRequested → EmailComposed, or ComposeFailed when the email cannot be
composed (or a template draft for review, with COMPOSER_FALLBACK_TO_TEMPLATE)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from faststream.nats import NatsMessage

from realtoros_composer.checks import sanitize
from realtoros_composer.drafts import ComposeError, Composer, Draft, flatten
from realtoros_composer.metrics import ComposerMetrics
from realtoros_contracts import ComposeFailed, DraftRequested, EmailComposed, TaskDue
from realtoros_runtime.bus import Bus
from realtoros_runtime.consuming import envelope_of

log = logging.getLogger(__name__)

Handler = Callable[[TaskDue, NatsMessage], Awaitable[None]]
DraftHandler = Callable[[DraftRequested, NatsMessage], Awaitable[None]]

REQUESTED_REASON = "requested draft"
FALLBACK_REASON = "LLM unavailable; template used"


def composed_event(task: TaskDue, draft: Draft) -> EmailComposed:
    return EmailComposed(
        **task.email_ids(),
        subject=draft.subject,
        body_text=draft.body,
        composer=draft.composer,
        model=draft.model,
        usage=draft.usage,
        provider_request_id=draft.provider_request_id,
        needs_review=bool(draft.review_reasons),
        review_reasons=draft.review_reasons,
        delivery=task.delivery,
    )


def failed_event(task: TaskDue, error: ComposeError) -> ComposeFailed:
    return ComposeFailed(
        **task.email_ids(),
        reason=error.reason[:2000],
        attempts=error.attempts,
    )


def only_agent_contacts(draft: Draft, task: TaskDue) -> Draft:
    """The last gate before publishing, whatever composed the draft (a template fills in
    the property address too): a contact detail that is not the agent's is removed and the
    draft held with the reason."""
    cleaned = sanitize(draft.subject, draft.body, task)
    if not cleaned.reasons:
        return draft
    reasons = [r for r in cleaned.reasons if r not in draft.review_reasons]
    return replace(
        draft,
        subject=flatten(cleaned.subject),
        body=cleaned.body,
        review_reasons=[*draft.review_reasons, *reasons],
    )


@contextlib.asynccontextmanager
async def keep_alive(msg: NatsMessage, every: float) -> AsyncIterator[None]:
    """Tell JetStream the message is still being worked on, so a slow LLM (retries,
    Retry-After) does not outlast the ack wait and get the message delivered twice."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):  # best effort: the ack decides
                await msg.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(frozen=True)
class Composing:
    """What a handler composes with: the composer, the template fallback (None: publish
    ComposeFailed instead) and the metrics."""

    bus: Bus
    composer: Composer
    metrics: ComposerMetrics
    fallback: Composer | None = None
    heartbeat: float = 15.0

    async def draft(self, task: TaskDue, msg: NatsMessage) -> Draft | ComposeError:
        if task.template is not None:  # the agent's own words, filled in by the CRM
            return Draft(task.template.subject, task.template.body, composer="template")
        try:
            async with keep_alive(msg, self.heartbeat):
                return only_agent_contacts(await self.composer.compose(task), task)
        except ComposeError as exc:
            log.warning(
                "email %s not composed after %d attempt(s): %s",
                task.email_id,
                exc.attempts,
                exc.reason,
            )
            if self.fallback is None:
                return exc
            draft = only_agent_contacts(await self.fallback.compose(task), task)
            reasons = [FALLBACK_REASON, f"the LLM failed: {exc.reason}"[:500]]
            return replace(draft, review_reasons=[*reasons, *draft.review_reasons])

    async def publish(self, task: TaskDue, msg: NatsMessage, *, requested: bool) -> None:
        source_id = envelope_of(msg).id
        outcome = await self.draft(task, msg)
        if isinstance(outcome, ComposeError):
            self.metrics.failed.labels(outcome.model or "").inc()
            failed = failed_event(task, outcome)
            await self.bus.publisher.publish(failed, event_id=f"compose-failed:{source_id}")
            return
        if requested:
            outcome = replace(outcome, review_reasons=[REQUESTED_REASON, *outcome.review_reasons])
        composed = composed_event(task, outcome)
        await self.bus.publisher.publish(composed, event_id=f"composed:{source_id}")
        self.metrics.composed.labels(
            outcome.composer, outcome.model or "", str(composed.needs_review).lower()
        ).inc()
        log.info("email %s composed by %s", task.email_id, outcome.composer)


def compose_handler(composing: Composing) -> Handler:
    """The TaskDue handler."""

    async def on_task_due_compose_email(event: TaskDue, msg: NatsMessage) -> None:
        await composing.publish(event, msg, requested=False)

    return on_task_due_compose_email


def draft_handler(composing: Composing) -> DraftHandler:
    """The DraftRequested handler: the agent asked to see this draft, so it always waits
    for review."""

    async def on_draft_requested_compose_draft(event: DraftRequested, msg: NatsMessage) -> None:
        await composing.publish(event, msg, requested=True)

    return on_draft_requested_compose_draft
