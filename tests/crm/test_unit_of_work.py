"""The entrypoint owns the transaction: a request's changes commit after its handler (none
when it fails), and a commit that wrote to the outbox wakes the relay by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
from fastapi import FastAPI, HTTPException, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.agents.tokens_models import LoginFailure
from realtoros_crm.api.deps import SessionDep
from realtoros_crm.db import Sessions, after_commit, build_engine, build_sessions, discard
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import Crm, add_client, sign_up
from tests.crm.running import running_crm
from tests.support.waiting import eventually

PATHS = ("returns", "raises", "discards")


async def _published_at(crm: Crm, event_id: str) -> datetime | None:
    async with crm.state.sessions() as session:
        return await session.scalar(
            select(OutboxMessage.published_at).where(OutboxMessage.event_id == event_id)
        )


async def test_a_commit_that_wrote_to_the_outbox_wakes_the_relay(
    crm_settings: CrmSettings, nats_client: object
) -> None:
    # Polling once a minute: only the wake after the request's commit publishes in time.
    async with running_crm(crm_settings, relay_poll_seconds=60) as crm:
        who = await sign_up(crm.http)
        client = await add_client(crm.http, who, email="wake@example.com")
        event_id = f"client-created:{client['id']}"
        await eventually(lambda: _published_at(crm, event_id), timeout=5, what="ClientCreated")


def _app(sessions: Sessions) -> FastAPI:
    """Three routes that each write a row: one returns, one raises, one discards."""
    app = FastAPI()
    app.state.crm = SimpleNamespace(sessions=sessions)  # all the session dependency reads

    async def write(session: AsyncSession, key: str) -> None:
        session.add(LoginFailure(key=key, failed_at=datetime.now(UTC)))
        await session.flush()

    @app.post("/returns")
    async def returns(session: SessionDep) -> None:
        await write(session, "returns")

    @app.post("/raises")
    async def raises(session: SessionDep) -> None:
        await write(session, "raises")
        raise HTTPException(409, "refused after writing")

    @app.post("/discards")
    async def discards(session: SessionDep) -> Response:
        await write(session, "discards")
        discard(session)
        return Response(status_code=422)

    return app


async def test_the_session_dependency_commits_only_what_a_handler_that_returned_wrote(
    crm_settings: CrmSettings,
) -> None:
    engine = build_engine(crm_settings.database_url)
    sessions = build_sessions(engine)
    app = _app(sessions)
    try:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://uow.test") as http:
            codes = [(await http.post(f"/{path}")).status_code for path in PATHS]
        assert codes == [200, 409, 422]
        async with sessions() as session:
            keys = (await session.scalars(select(LoginFailure.key))).all()
        assert keys == ["returns"]
    finally:
        await engine.dispose()


async def test_after_commit_runs_once_the_transaction_commits_and_never_after_a_rollback(
    crm_settings: CrmSettings,
) -> None:
    engine = build_engine(crm_settings.database_url)
    sessions = build_sessions(engine)
    calls: list[str] = []
    try:
        async with sessions() as session:
            await session.execute(select(1))
            after_commit(session, lambda: calls.append("rolled back"))
            await session.rollback()
            await session.commit()  # a later commit of the same session: not that one
            await session.execute(select(1))
            after_commit(session, lambda: calls.append("committed"))
            assert calls == []
            await session.commit()
        assert calls == ["committed"]
    finally:
        await engine.dispose()
