"""Probes and the AsyncAPI document of the CRM's messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from faststream.specification.base import Specification
from sqlalchemy import text

from realtoros_crm.api.deps import StateDep
from realtoros_crm.state import CrmState
from realtoros_crm.webhooks.asyncapi import add_webhooks
from realtoros_runtime.bus import Bus
from realtoros_runtime.readiness import ReadyCheck
from realtoros_runtime.worker import asyncapi_spec

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def database_check(state: CrmState) -> ReadyCheck:
    """The CRM's readiness check of its database (also the gate its consumers wait at)."""

    async def database_answers() -> str | None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), state.engine.connect() as connection:
                await connection.execute(text("select 1"))
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None

    return database_answers


@router.get("/readyz", responses={503: {"description": "Not ready; the problems say why."}})
async def readyz(state: StateDep) -> JSONResponse:
    """Readiness: NATS is connected and the database answers."""
    if problems := await state.bus.readiness.problems():
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


def crm_asyncapi_document(bus: Bus) -> dict[str, Any]:
    """The CRM's AsyncAPI document with its webhooks (HTTP) beside the NATS subjects."""
    return add_webhooks(crm_asyncapi(bus).to_jsonable(), bus.ns)


@router.get("/asyncapi.json")
async def asyncapi_document(state: StateDep) -> Response:
    """The AsyncAPI document of the messages the CRM consumes and publishes."""
    return Response(json.dumps(crm_asyncapi_document(state.bus)), media_type="application/json")
