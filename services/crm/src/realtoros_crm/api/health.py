"""Probes and the AsyncAPI document of the CRM's messages."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from faststream.specification.base import Specification
from sqlalchemy import text

from realtoros_crm.api.deps import StateDep
from realtoros_crm.state import CrmState
from realtoros_runtime.worker import Bus, asyncapi_spec

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


async def _database_problem(state: CrmState) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), state.engine.connect() as connection:
            await connection.execute(text("select 1"))
    except Exception as exc:
        return f"database: {type(exc).__name__}"
    return None


@router.get("/readyz", responses={503: {"description": "Not ready; the problems say why."}})
async def readyz(state: StateDep) -> JSONResponse:
    """Readiness: the database answers and NATS is connected."""
    problems = []
    if (problem := await _database_problem(state)) is not None:
        problems.append(problem)
    if not await state.bus.broker.ping(CHECK_TIMEOUT):
        problems.append("nats: not connected")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


def crm_asyncapi(bus: Bus) -> Specification:
    """The CRM's AsyncAPI document (built from its bus's subscribers and publications)."""
    return asyncapi_spec(
        bus,
        title="RealtorOS CRM",
        description="Claims due follow-ups and publishes TaskDue through its outbox; "
        "publishes the agent's decisions (EmailApproved, DraftRequested) and "
        "ClientUnsubscribed; records every email event on the client's timeline.",
    ).to_specification()


@router.get("/asyncapi.json")
async def asyncapi_document(state: StateDep) -> Response:
    """The AsyncAPI document of the messages the CRM consumes and publishes."""
    return Response(crm_asyncapi(state.bus).to_json(), media_type="application/json")
