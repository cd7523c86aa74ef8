"""Integrations: the agent's API keys (create — shown once —, revoke) and webhook
endpoints (subscribe, with the signing secret shown once). One endpoint's delivery log is
in ``webhook_page``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.apikeys.schemas import ApiKeyCreate
from realtoros_crm.apikeys.scopes import SCOPE_LABELS
from realtoros_crm.apikeys.service import UnknownPlan, create_key, list_keys, revoke_key
from realtoros_crm.plans.service import list_plans
from realtoros_crm.web.render import field_errors, page, redirect
from realtoros_crm.web.session import WebAgent
from realtoros_crm.webhooks.catalogue import WEBHOOK_TYPES
from realtoros_crm.webhooks.guard import BadWebhookUrl
from realtoros_crm.webhooks.schemas import EndpointCreate
from realtoros_crm.webhooks.service import create_endpoint, list_endpoints

router = APIRouter(prefix="/app/integrations")


async def _page(
    request: Request,
    session: AsyncSession,
    agent_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {"key_errors": {}, "hook_errors": {}, "values": {}, **extra}
    return page(
        request,
        "integrations.html",
        status_code=status_code,
        keys=await list_keys(session, agent_id),
        endpoints=await list_endpoints(session, agent_id),
        plans=await list_plans(session, agent_id),
        scope_labels=SCOPE_LABELS,
        webhook_types=WEBHOOK_TYPES,
        **context,
    )


@router.get("")
async def integrations(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    return await _page(request, session, agent.id)


@router.post("/keys")
async def new_key(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await request.form()
    raw = {
        "name": str(form.get("name") or ""),
        "scopes": [str(s) for s in form.getlist("scopes")],
        "lead_plan_id": str(form.get("lead_plan_id") or "") or None,
    }
    try:
        key, secret = await create_key(
            session, agent.id, ApiKeyCreate.model_validate(raw), state.clock()
        )
    except (ValidationError, UnknownPlan) as exc:  # both before anything is written
        errors = (
            field_errors(exc) if isinstance(exc, ValidationError) else {"lead_plan_id": str(exc)}
        )
        return await _page(request, session, agent.id, 422, key_errors=errors, values=raw)
    await session.flush()  # the page lists the new key
    # Rendered, not redirected: the key is shown on this page once and stored nowhere.
    return await _page(request, session, agent.id, 201, new_key=(key.name, secret))


@router.post("/keys/{key_id}/revoke")
async def revoke(
    key_id: uuid.UUID, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    key = await revoke_key(session, agent.id, key_id, state.clock())
    return redirect("/app/integrations", f"Key '{key.name}' revoked." if key else None)


@router.post("/webhooks")
async def new_endpoint(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {
        "url": str(form.get("url") or ""),
        "description": str(form.get("description") or ""),
        "event_types": [str(t) for t in form.getlist("event_types")],
        "scopes": ["clients:read"] if form.get("contact") == "on" else [],
    }
    try:
        endpoint = await create_endpoint(
            session,
            agent.id,
            EndpointCreate.model_validate(raw),
            allow_loopback=state.settings.webhook_allow_loopback,
            key_scopes=None,
            now=state.clock(),
        )
    except (ValidationError, BadWebhookUrl) as exc:  # both before anything is written
        errors = field_errors(exc) if isinstance(exc, ValidationError) else {"url": str(exc)}
        return await _page(request, session, agent.id, 422, hook_errors=errors, values=raw)
    await session.flush()  # the page lists the new endpoint
    return await _page(request, session, agent.id, 201, new_secret=(endpoint.url, endpoint.secret))
