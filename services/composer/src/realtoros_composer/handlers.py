"""TaskDue → EmailComposed, or ComposeFailed when the email cannot be composed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from faststream.nats import NatsMessage

from realtoros_composer.drafts import ComposeError, Composer, Draft
from realtoros_contracts import ComposeFailed, EmailComposed, TaskDue
from realtoros_runtime.consuming import envelope_of
from realtoros_runtime.worker import Bus

log = logging.getLogger(__name__)

Handler = Callable[[TaskDue, NatsMessage], Awaitable[None]]


def composed_event(task: TaskDue, draft: Draft) -> EmailComposed:
    return EmailComposed(
        email_id=task.email_id,
        task_id=task.task_id,
        agent_id=task.agent_id,
        client_id=task.client_id,
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
        email_id=task.email_id,
        task_id=task.task_id,
        agent_id=task.agent_id,
        client_id=task.client_id,
        reason=error.reason[:2000],
        attempts=error.attempts,
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


def compose_handler(bus: Bus, composer: Composer, *, heartbeat: float = 15.0) -> Handler:
    """The TaskDue handler, bound to this service's bus and composer."""

    async def on_task_due_compose_email(event: TaskDue, msg: NatsMessage) -> None:
        source_id = envelope_of(msg).id
        try:
            async with keep_alive(msg, heartbeat):
                draft = await composer.compose(event)
        except ComposeError as exc:
            log.warning(
                "email %s not composed after %d attempt(s): %s",
                event.email_id,
                exc.attempts,
                exc.reason,
            )
            failed = failed_event(event, exc)
            await bus.publisher.publish(failed, event_id=f"compose-failed:{source_id}")
            return
        composed = composed_event(event, draft)
        await bus.publisher.publish(composed, event_id=f"composed:{source_id}")
        log.info("email %s composed by %s", event.email_id, draft.composer)

    return on_task_due_compose_email
