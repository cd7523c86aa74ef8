"""The composition root: ``build_app(settings)`` wires the API, the consumers and the outbox
relay into one FastAPI app. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from realtoros_crm.agents.api import router as agents_router
from realtoros_crm.api.health import database_check
from realtoros_crm.api.health import router as health_router
from realtoros_crm.api.problems import install_problem_handlers
from realtoros_crm.api.urls import RejectNulInAddress
from realtoros_crm.apikeys.api import router as api_keys_router
from realtoros_crm.claims.consumer import Claimer, subscribe_ticks
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clients.api import router as clients_router
from realtoros_crm.clients.events import announce_new_clients
from realtoros_crm.clock import Clock, system_clock
from realtoros_crm.consumers import subscribe_records
from realtoros_crm.contacts.api import router as activities_router
from realtoros_crm.customfields.api import router as custom_fields_router
from realtoros_crm.dashboard.api import router as dashboard_router
from realtoros_crm.db import Sessions, build_engine, build_sessions
from realtoros_crm.email_templates.api import install_template_errors
from realtoros_crm.email_templates.api import router as templates_router
from realtoros_crm.emails.api import router as drafts_router
from realtoros_crm.emails.reconciler import Reconciler
from realtoros_crm.imports.api import router as imports_router
from realtoros_crm.leads.api import router as leads_router
from realtoros_crm.lists.api import router as lists_router
from realtoros_crm.messaging.pruning import Horizons, Pruner
from realtoros_crm.messaging.relay import OutboxRelay
from realtoros_crm.observability import instrument_app, instrument_engine
from realtoros_crm.observability import router as observability_router
from realtoros_crm.plans.api import router as plans_router
from realtoros_crm.plans.hooks import on_stage_changes_run_plans
from realtoros_crm.replies.api import router as replies_router
from realtoros_crm.settings import CrmSettings
from realtoros_crm.state import CrmState
from realtoros_crm.tasks.api import router as tasks_router
from realtoros_crm.unsubscribe import router as unsubscribe_router
from realtoros_crm.web import database_unreachable, mount_web
from realtoros_crm.webhooks.api import router as webhooks_router
from realtoros_crm.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from realtoros_crm.webhooks.fanout import WebhookFanout, subscribe_webhook_events
from realtoros_crm.webhooks.sender import WebhookSender
from realtoros_runtime.bus import build_bus

SERVICE = "crm"


def build_state(settings: CrmSettings, clock: Clock) -> CrmState:
    """The engine, the bus with its subscribers, the relay: built, not yet connected."""
    engine = build_engine(settings.database_url)
    instrument_engine(engine)
    sessions = build_sessions(engine)
    bus = build_bus(SERVICE, settings)
    relay = OutboxRelay(
        sessions,
        bus.publisher,
        clock,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
    )
    relay.wake_after_commits(sessions)
    ctx = ClaimContext.of(bus.ns, settings)
    claimer = Claimer(sessions, clock, ctx, settings.claim_batch_size, on_commit=relay.wake)
    subscribe_ticks(bus, claimer)
    subscribe_records(bus, sessions, clock)
    webhooks = build_webhook_dispatcher(settings, sessions, clock)
    subscribe_webhook_events(bus, WebhookFanout(sessions, clock, on_queued=webhooks.wake))
    pruner = Pruner(
        sessions,
        clock,
        horizons=Horizons(
            outbox=timedelta(hours=settings.prune_outbox_after_hours),
            webhook_deliveries=timedelta(days=settings.prune_webhook_deliveries_after_days),
            client_lead_ids=timedelta(days=settings.prune_lead_ids_after_days),
        ),
        interval=settings.prune_interval_seconds,
    )
    reconciler = Reconciler(
        sessions,
        ctx,
        clock,
        stuck_after=timedelta(seconds=settings.reconcile_after_seconds),
        interval=settings.reconcile_interval_seconds,
        on_commit=relay.wake,
        metrics=bus.metrics,
    )
    state = CrmState(
        settings, clock, engine, sessions, bus, relay, webhooks, pruner, reconciler, ctx
    )
    # Plans start and stop with the client's stage (clients/stages.py).
    state.stage_hooks += [on_stage_changes_run_plans, announce_new_clients(settings.namespace)]
    state.outage_pages["/app"] = database_unreachable  # the web app (build_app mounts it)
    bus.readiness.add_check(database_check(state))
    return state


def build_webhook_dispatcher(
    settings: CrmSettings, sessions: Sessions, clock: Clock
) -> WebhookDispatcher:
    timeout = settings.webhook_timeout_seconds
    sender = WebhookSender(timeout_seconds=timeout, allow_loopback=settings.webhook_allow_loopback)
    return WebhookDispatcher(
        sessions,
        clock,
        sender,
        RetryPolicy.of(settings),
        poll_seconds=settings.webhook_poll_seconds,
        concurrency=settings.webhook_concurrency,
        lease=timedelta(seconds=timeout + 30),
    )


def _lifespan(
    settings: CrmSettings, clock: Clock
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings, clock)
        app.state.crm = state
        try:
            await state.bus.connect()
            await state.bus.broker.start()
            state.relay.start()
            await state.webhooks.start()
            state.pruner.start()
            state.reconciler.start()
            yield
        finally:
            await state.imports.drain()
            await state.reconciler.stop()
            await state.pruner.stop()
            await state.webhooks.stop()
            await state.relay.stop()
            await state.bus.broker.stop()
            await state.bus.readiness.close()
            await state.engine.dispose()

    return lifespan


def build_app(settings: CrmSettings, clock: Clock = system_clock) -> FastAPI:
    app = FastAPI(
        title="RealtorOS CRM",
        description="The agents' clients, follow-up tasks and the emails sent for them.",
        version="1.0.0",
        lifespan=_lifespan(settings, clock),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    install_problem_handlers(app)
    app.add_middleware(RejectNulInAddress)
    install_template_errors(app)
    for router in (
        health_router,
        observability_router,
        agents_router,
        imports_router,  # before clients: /clients/export.csv is not a client id
        clients_router,
        activities_router,
        custom_fields_router,
        lists_router,
        templates_router,
        tasks_router,
        drafts_router,
        plans_router,
        dashboard_router,
        replies_router,
        unsubscribe_router,
        api_keys_router,
        leads_router,
        webhooks_router,
    ):
        app.include_router(router)
    mount_web(app)  # the agents' web app under /app
    instrument_app(app)
    return app
