"""``POST /leads``: a website form, a lead portal or Zapier posts a lead with an API key
(scope ``leads:write``). See docs/integrations.md for a plain HTML form and for Zapier."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AnyHttpUrl, BaseModel, Field, ValidationError

from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep, api_key_of
from realtoros_crm.api.problems import problem_responses
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.leads.form import BadLead, parse_body, read_lead
from realtoros_crm.leads.intake import LeadSource, take_lead

router = APIRouter(tags=["leads"])

_LEAD_EXAMPLE = {
    "lead_id": "zl-889134",
    "source": "Zillow",
    "first_name": "Jordan",
    "last_name": "Lee",
    "email": "jordan@example.com",
    "phone": "(555) 010-0142",
    "message": "Is 12 Elm St still available?",
    "tags": ["buyer"],
}


class LeadAccepted(BaseModel):
    status: str = "accepted"
    client_id: str | None = Field(
        default=None, description="Only to a caller that may read clients (not a form key)."
    )
    created: bool | None = None
    duplicates: list[dict[str, Any]] | None = None


@router.post(
    "/leads",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(400, 413, 415),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"example": _LEAD_EXAMPLE},
                "application/x-www-form-urlencoded": {"example": _LEAD_EXAMPLE},
            }
        }
    },
)
async def post_lead(
    request: Request,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> Response:
    """Create or update a client from a lead, once per ``lead_id`` of a ``source``."""
    try:
        fields = parse_body(await request.body(), request.headers.get("content-type", ""))
        lead = read_lead(fields)
    except BadLead as exc:
        code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE if "send application" in str(exc) else 400
        raise HTTPException(code, str(exc)) from None
    key = api_key_of(request)
    source = LeadSource(
        name=lead.source or (key.name if key is not None else "API"),
        plan_id=key.lead_plan_id if key is not None else None,
    )
    taken = await take_lead(
        session, agent_id, lead, source, ns=state.bus.ns, hooks=hooks, now=state.clock()
    )
    await session.flush()  # the response shows the ids and defaults
    if lead.redirect_to and _is_web_url(lead.redirect_to):
        return RedirectResponse(lead.redirect_to, status_code=status.HTTP_303_SEE_OTHER)
    may_read = key is None or "clients:read" in key.scopes
    body = (
        LeadAccepted(
            client_id=str(taken.client_id), created=taken.created, duplicates=taken.duplicates
        )
        if may_read
        else LeadAccepted()  # a public form's key learns nothing about the agent's clients
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status.HTTP_202_ACCEPTED)


def _is_web_url(value: str) -> bool:
    try:
        return AnyHttpUrl(value).scheme in ("http", "https")
    except ValidationError:
        return False
