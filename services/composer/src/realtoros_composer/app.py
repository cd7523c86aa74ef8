"""Composition root: settings → bus, LLM client or templates, the subscribers, app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx2
from faststream.asgi import AsgiFastStream
from openai import AsyncAzureOpenAI, AsyncOpenAI, DefaultAioHttpClient

from realtoros_composer.calls import LlmCaller
from realtoros_composer.drafts import Composer
from realtoros_composer.handlers import Composing, compose_handler, draft_handler
from realtoros_composer.limiter import RateLimiter
from realtoros_composer.llm import LlmComposer
from realtoros_composer.metrics import ComposerMetrics
from realtoros_composer.settings import SERVICE, ComposerSettings
from realtoros_composer.templates import TemplateComposer
from realtoros_contracts import DraftRequested, TaskDue
from realtoros_runtime.bus import Bus, build_bus
from realtoros_runtime.worker import worker_app

log = logging.getLogger(__name__)

DURABLE = "composer-task-due"
DRAFT_DURABLE = "composer-draft-requested"
ACK_WAIT = 60.0
TEMPLATE_WORKERS = 16
DRAFT_WORKERS = 8


@dataclass
class ComposerService:
    """Everything the composer is made of, for ``serve`` and for tests."""

    settings: ComposerSettings
    bus: Bus
    composer: Composer
    llm_client: AsyncOpenAI | None
    metrics: ComposerMetrics
    limiter: RateLimiter
    app: AsgiFastStream

    async def open(self) -> None:
        """What the app opens at start beyond the broker (tests call it themselves)."""
        await open_limits(self.bus, self.limiter)


async def open_limits(bus: Bus, limiter: RateLimiter) -> None:
    await limiter.open(bus.broker.connection.jetstream(), bus.ns)


def http_client(settings: ComposerSettings) -> httpx2.AsyncClient:
    """The SDK over aiohttp (its ``aiohttp`` extra), with a pool sized to the concurrency.
    Measured with the benchmark: httpx's pool scans every connection on each request
    and release (``has_expired``), a fifth of the composer's CPU with 256 in flight."""
    slots = settings.llm_max_concurrency
    limits = httpx2.Limits(max_connections=slots + 8, max_keepalive_connections=slots + 8)
    return DefaultAioHttpClient(limits=limits, timeout=settings.llm_timeout_seconds)


def build_llm_client(settings: ComposerSettings) -> AsyncOpenAI:
    """The one SDK client of the process (its connection pool is shared by every call).
    Retries are the composer's own (``retrying``), so the SDK's are off."""
    client = _sdk_client(settings)
    _ = client.chat.completions  # the SDK imports it lazily: at start, not on the first email
    return client


def _sdk_client(settings: ComposerSettings) -> AsyncOpenAI:
    if settings.llm_provider == "azure":
        assert settings.azure_openai_endpoint is not None  # checked by the settings
        return AsyncAzureOpenAI(
            api_key=settings.api_key,
            azure_endpoint=str(settings.azure_openai_endpoint),
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.azure_openai_api_version,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
            http_client=http_client(settings),
        )
    return AsyncOpenAI(
        api_key=settings.api_key,
        base_url=str(settings.openai_base_url) if settings.openai_base_url else None,
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
        http_client=http_client(settings),
    )


def model_name(settings: ComposerSettings) -> str:
    """Azure routes by deployment; the model field then names the deployment."""
    if settings.llm_provider == "azure" and settings.azure_openai_deployment:
        return settings.azure_openai_deployment
    return settings.openai_model


def build_llm_composer(
    settings: ComposerSettings, client: AsyncOpenAI, metrics: ComposerMetrics, limiter: RateLimiter
) -> LlmComposer:
    caller = LlmCaller(
        client,
        model=model_name(settings),
        max_retries=settings.llm_max_retries,
        max_concurrency=settings.llm_max_concurrency,
        limiter=limiter,
        metrics=metrics,
    )
    return LlmComposer(caller, structured_output=settings.llm_structured_output, metrics=metrics)


def build_composer(settings: ComposerSettings) -> ComposerService:
    bus = build_bus(SERVICE, settings)
    metrics = ComposerMetrics(bus.metrics)
    client: AsyncOpenAI | None = None
    composer: Composer
    fallback: Composer | None = None
    # The LLM limits are the account's, shared by every replica (opened at start).
    limiter = RateLimiter(settings.llm_rpm, settings.llm_tpm)
    if settings.uses_llm:
        client = build_llm_client(settings)
        composer = build_llm_composer(settings, client, metrics, limiter)
        # Handlers waiting out a retry hold no LLM slot: allow more of them than slots.
        workers = settings.llm_max_concurrency * 2
        fallback = TemplateComposer() if settings.composer_fallback_to_template else None
    else:
        composer = TemplateComposer()
        workers = TEMPLATE_WORKERS
    composing = Composing(bus, composer, metrics, fallback, heartbeat=ACK_WAIT / 4)
    subscribe(bus, composing, workers)

    async def announce() -> None:
        log.info("%s", describe(settings))

    async def open_resources() -> None:
        await open_limits(bus, limiter)

    app = worker_app(
        bus,
        title="RealtorOS composer",
        description="Consumes TaskDue and DraftRequested; publishes EmailComposed or "
        "ComposeFailed.",
        on_startup=[announce, open_resources],
        on_shutdown=[client.close] if client else [],
    )
    return ComposerService(settings, bus, composer, client, metrics, limiter, app)


def subscribe(bus: Bus, composing: Composing, workers: int) -> None:
    for event, durable, handler, max_workers, description in (
        (
            TaskDue,
            DURABLE,
            compose_handler,
            workers,
            "Drafts the email of every due follow-up task.",
        ),
        (
            DraftRequested,
            DRAFT_DURABLE,
            draft_handler,
            DRAFT_WORKERS,
            "Drafts an email the agent asked for (always held for review).",
        ),
    ):
        consumer = bus.durable(
            bus.ns.subject(event),
            producer="crm",
            durable=durable,
            max_workers=max_workers,
            ack_wait=ACK_WAIT,
            description=description,
        )
        consumer(handler(composing))


def describe(settings: ComposerSettings) -> str:
    """How emails will be drafted (never the key)."""
    if not settings.uses_llm:
        return "composing from templates (no OPENAI_API_KEY, or COMPOSER_MODE=template)"
    if settings.llm_provider == "azure":
        where = f"Azure OpenAI {settings.azure_openai_endpoint} deployment {model_name(settings)}"
    else:
        where = str(settings.openai_base_url or "the OpenAI API")
    limits = f", limits {settings.llm_rpm or '∞'} rpm / {settings.llm_tpm or '∞'} tpm"
    return f"composing with the LLM: model {model_name(settings)} at {where}{limits}"
