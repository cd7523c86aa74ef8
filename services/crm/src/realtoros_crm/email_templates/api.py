"""The agent's email templates: a library of subjects and bodies with merge fields, sent by
plan steps and tasks instead of an AI-written draft."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import Response

from realtoros_crm.api.deps import CurrentAgent, CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem, problem_responses
from realtoros_crm.clients.service import get_client
from realtoros_crm.email_templates.merge import TemplateInvalid
from realtoros_crm.email_templates.models import EmailTemplate
from realtoros_crm.email_templates.schemas import (
    MergeField,
    TemplateCreate,
    TemplatePreview,
    TemplatePublic,
    TemplateUpdate,
)
from realtoros_crm.email_templates.service import (
    TemplateConflict,
    TemplateNotFound,
    create_template,
    delete_template,
    get_template,
    list_templates,
    merge_fields,
    preview_for,
    update_template,
)

router = APIRouter(prefix="/email-templates", tags=["email templates"])
NOT_FOUND = problem_responses(404)


async def _template(session: SessionDep, agent_id: uuid.UUID, id: uuid.UUID) -> EmailTemplate:
    return found(await get_template(session, agent_id, id), "email template", id)


@router.get("")
async def read_templates(agent_id: CurrentAgentId, session: SessionDep) -> list[TemplatePublic]:
    """The agent's templates, by name."""
    return [TemplatePublic.model_validate(t) for t in await list_templates(session, agent_id)]


@router.get("/merge-fields")
async def read_merge_fields(agent_id: CurrentAgentId, session: SessionDep) -> list[MergeField]:
    """The fields a template may use, written ``{{name}}`` (the agent's custom fields too)."""
    return await merge_fields(session, agent_id)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422))
async def add_template(
    data: TemplateCreate, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> TemplatePublic:
    """Save a template; an unknown merge field or a stray ``{{`` is refused (422)."""
    template = await create_template(session, agent_id, data, state.clock())
    return TemplatePublic.model_validate(template)


@router.get("/{template_id}", responses=NOT_FOUND)
async def read_template(
    template_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> TemplatePublic:
    """One template."""
    return TemplatePublic.model_validate(await _template(session, agent_id, template_id))


@router.patch("/{template_id}", responses=problem_responses(404, 409, 422))
async def change_template(
    template_id: uuid.UUID,
    data: TemplateUpdate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> TemplatePublic:
    """Change a template's name, subject or body (steps that use it send the new text)."""
    template = await _template(session, agent_id, template_id)
    await update_template(session, template, data, state.clock())
    return TemplatePublic.model_validate(template)


@router.delete(
    "/{template_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404, 409)
)
async def remove_template(
    template_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep
) -> None:
    """Delete a template no plan step or pending task uses (409 otherwise)."""
    await delete_template(session, await _template(session, agent_id, template_id))


@router.get("/{template_id}/preview", responses=NOT_FOUND)
async def preview_template(
    template_id: uuid.UUID, client_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> TemplatePreview:
    """The template filled in with this client's data; ``missing`` names the empty fields."""
    template = await _template(session, agent.id, template_id)
    client = found(await get_client(session, agent.id, client_id), "client", client_id)
    return preview_for(template.subject, template.body, client, agent)


def install_template_errors(app: FastAPI) -> None:
    """A template error answers the same wherever it is raised (templates, plans, tasks)."""

    async def invalid(request: Request, exc: Exception) -> Response:
        return problem(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))

    async def conflict(request: Request, exc: Exception) -> Response:
        return problem(status.HTTP_409_CONFLICT, str(exc))

    app.add_exception_handler(TemplateInvalid, invalid)
    app.add_exception_handler(TemplateNotFound, invalid)
    app.add_exception_handler(TemplateConflict, conflict)
