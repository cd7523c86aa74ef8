"""The composition root: ``build_app(settings)`` wires the API, the consumers and the outbox
relay into one FastAPI app. Nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from realtoros_contracts import TaskDue
from realtoros_crm.activities.api import router as activities_router
from realtoros_crm.agents.api import router as agents_router
from realtoros_crm.api.health import router as health_router
from realtoros_crm.api.problems import install_problem_handlers
from realtoros_crm.claims.consumer import Claimer, subscribe_ticks
from realtoros_crm.claims.context import ClaimContext
from realtoros_crm.clients.api import router as clients_router
from realtoros_crm.clock import Clock, system_clock
from realtoros_crm.customfields.api import router as custom_fields_router
from realtoros_crm.dashboard.api import router as dashboard_router
from realtoros_crm.db import build_engine, build_sessions
from realtoros_crm.email_templates.api import install_template_errors
from realtoros_crm.email_templates.api import router as templates_router
from realtoros_crm.emails.api import router as drafts_router
from realtoros_crm.emails.consumers import subscribe_email_events
from realtoros_crm.imports.api import router as imports_router
from realtoros_crm.imports.jobs import drain_imports
from realtoros_crm.lists.api import router as lists_router
from realtoros_crm.messaging.relay import OutboxRelay
from realtoros_crm.observability import instrument_app, instrument_engine
from realtoros_crm.observability import router as observability_router
from realtoros_crm.plans.api import router as plans_router
from realtoros_crm.plans.consumer import subscribe_plan_events
from realtoros_crm.plans.hooks import on_stage_changes_run_plans
from realtoros_crm.settings import CrmSettings
from realtoros_crm.state import CrmState
from realtoros_crm.tasks.api import router as tasks_router
from realtoros_crm.unsubscribe import router as unsubscribe_router
from realtoros_crm.web import mount_web
from realtoros_runtime.worker import Bus, build_bus

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
    ctx = ClaimContext(
        ns=bus.ns,
        public_base_url=str(settings.public_base_url),
        unsubscribe_key=settings.unsubscribe_key(),
    )
    claimer = Claimer(sessions, clock, ctx, settings.claim_batch_size, on_commit=relay.wake)
    subscribe_ticks(bus, claimer)
    subscribe_email_events(bus, sessions, clock)
    subscribe_plan_events(bus, sessions, clock)
    _document_publications(bus)
    return CrmState(settings, clock, engine, sessions, bus, relay)


def _document_publications(bus: Bus) -> None:
    # The relay publishes raw bytes; this declares TaskDue for the AsyncAPI document only.
    bus.broker.publisher(
        bus.ns.subject(TaskDue),
        schema=TaskDue,
        title="TaskDue",
        description="A follow-up fell due and was claimed (published through the outbox).",
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
            yield
        finally:
            await drain_imports(app)
            await state.relay.stop()
            await state.bus.broker.stop()
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
    install_template_errors(app)
    # Plans start and stop with the client's stage (clients/stages.py).
    app.state.stage_hooks = [*getattr(app.state, "stage_hooks", ()), on_stage_changes_run_plans]
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
        unsubscribe_router,
    ):
        app.include_router(router)
    mount_web(app)  # the agents' web app under /app
    instrument_app(app)
    return app
