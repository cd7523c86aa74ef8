"""Composition root: settings → bus, LLM client or templates, the TaskDue subscriber, app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from openai import AsyncOpenAI

from realtoros_composer.drafts import Composer
from realtoros_composer.handlers import compose_handler
from realtoros_composer.llm import LlmComposer
from realtoros_composer.settings import SERVICE, ComposerSettings
from realtoros_composer.templates import TemplateComposer
from realtoros_contracts import TaskDue
from realtoros_runtime.worker import Bus, build_bus, worker_app

log = logging.getLogger(__name__)

DURABLE = "composer-task-due"
ACK_WAIT = 60.0
TEMPLATE_WORKERS = 16


@dataclass
class ComposerService:
    """Everything the composer is made of, for ``serve`` and for tests."""

    settings: ComposerSettings
    bus: Bus
    composer: Composer
    llm_client: AsyncOpenAI | None
    app: AsgiFastStream


def build_llm_client(settings: ComposerSettings) -> AsyncOpenAI:
    """The one SDK client of the process (its connection pool is shared by every call)."""
    return AsyncOpenAI(
        api_key=settings.api_key,
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


def build_composer(settings: ComposerSettings) -> ComposerService:
    bus = build_bus(SERVICE, settings)
    client: AsyncOpenAI | None = None
    composer: Composer
    if settings.uses_llm:
        client = build_llm_client(settings)
        composer = LlmComposer(
            client,
            model=settings.openai_model,
            structured_output=settings.llm_structured_output,
            max_concurrency=settings.llm_max_concurrency,
        )
        workers = settings.llm_max_concurrency
    else:
        composer = TemplateComposer()
        workers = TEMPLATE_WORKERS
    subscriber = bus.durable(
        bus.ns.subject(TaskDue),
        producer="crm",
        durable=DURABLE,
        max_workers=workers,
        ack_wait=ACK_WAIT,
        description="Drafts the email of every due follow-up task.",
    )
    subscriber(compose_handler(bus, composer, heartbeat=ACK_WAIT / 4))

    async def announce() -> None:
        log.info("%s", describe(settings))

    app = worker_app(
        bus,
        title="RealtorOS composer",
        description="Consumes TaskDue; publishes EmailComposed or ComposeFailed.",
        on_startup=[announce],
        on_shutdown=[client.close] if client else [],
    )
    return ComposerService(settings, bus, composer, client, app)


def describe(settings: ComposerSettings) -> str:
    """How emails will be drafted (never the key)."""
    if settings.uses_llm:
        where = settings.openai_base_url or "the OpenAI API"
        return f"composing with the LLM: model {settings.openai_model} at {where}"
    return "composing from templates (no OPENAI_API_KEY, or COMPOSER_MODE=template)"
