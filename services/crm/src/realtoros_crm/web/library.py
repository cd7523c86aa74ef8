"""The agent's own library in the web app: custom fields, email templates (with a preview
on a real client) and saved lists (the client list under a name: its bulk change and its
export) — the same service functions as the API's."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.service import client_choices, get_client
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.customfields.schemas import CustomFieldCreate
from realtoros_crm.customfields.service import (
    FieldConflict,
    create_field,
    delete_field,
    get_field,
    list_fields,
)
from realtoros_crm.db import discard
from realtoros_crm.email_templates.merge import TemplateInvalid
from realtoros_crm.email_templates.schemas import TemplateCreate, TemplateUpdate
from realtoros_crm.email_templates.service import (
    TemplateConflict,
    create_template,
    delete_template,
    get_template,
    list_templates,
    merge_fields,
    preview_for,
    update_template,
)
from realtoros_crm.imports.export import export_rows
from realtoros_crm.lists.models import SavedList
from realtoros_crm.lists.schemas import ListBulkUpdate, ListCreate
from realtoros_crm.lists.service import (
    ListConflict,
    bulk_update_list,
    create_list,
    filter_of,
    get_list,
)
from realtoros_crm.lists.service import delete_list as forget_list
from realtoros_crm.web import found
from realtoros_crm.web.clients import client_filter
from realtoros_crm.web.render import page, posted_form, problem_text, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app")


# --- custom fields -------------------------------------------------------------------------


@router.get("/fields")
async def fields_page(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    return page(request, "fields.html", fields=await list_fields(session, agent.id))


@router.post("/fields")
async def add_field(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await posted_form(request)
    choices = [c.strip() for c in form.get("choices", "").split(",") if c.strip()]
    raw = {"key": form.get("key", ""), "label": form.get("label", ""),
           "field_type": form.get("field_type", ""), "choices": choices}  # fmt: skip
    try:
        field = await create_field(
            session, agent.id, CustomFieldCreate.model_validate(raw), state.clock()
        )
    except (ValidationError, FieldConflict) as exc:
        discard(session)
        return redirect("/app/fields", f"Not added: {problem_text(exc)}")
    return redirect("/app/fields", f"Field “{field.label}” added.")


@router.post("/fields/{field_id}/delete")
async def remove_field(field_id: uuid.UUID, agent: WebAgent, session: SessionDep) -> Response:
    field = found(await get_field(session, agent.id, field_id), "field")
    await delete_field(session, field)
    return redirect("/app/fields", f"Field “{field.label}” removed; clients keep their values.")


# --- email templates -----------------------------------------------------------------------


@router.get("/templates")
async def templates_page(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    return page(
        request,
        "email_templates.html",
        templates=await list_templates(session, agent.id),
        merge_fields=await merge_fields(session, agent.id),
    )


@router.post("/templates")
async def add_template(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await posted_form(request)
    try:
        data = TemplateCreate.model_validate(form)
        template = await create_template(session, agent.id, data, state.clock())
    except (ValidationError, TemplateInvalid, TemplateConflict) as exc:
        discard(session)
        return redirect("/app/templates", f"Not saved: {problem_text(exc)}")
    return redirect(f"/app/templates/{template.id}", f"Template “{template.name}” saved.")


@router.get("/templates/{template_id}")
async def template_page(
    template_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    template = found(await get_template(session, agent.id, template_id), "template")
    clients = await client_choices(session, agent.id)
    preview = None
    wanted = request.query_params.get("client_id", "")
    client = await get_client(session, agent.id, uuid.UUID(wanted)) if len(wanted) == 36 else None
    if client is not None:
        preview = preview_for(template.subject, template.body, client, agent)
    return page(
        request,
        "email_template.html",
        template=template,
        clients=clients,
        chosen=client,
        preview=preview,
        merge_fields=await merge_fields(session, agent.id),
    )


@router.post("/templates/{template_id}")
async def save_template(
    template_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    template = found(await get_template(session, agent.id, template_id), "template")
    form = await posted_form(request)
    back = f"/app/templates/{template.id}"
    try:
        if form.get("action") == "delete":
            await delete_template(session, template)
            return redirect("/app/templates", f"Template “{template.name}” deleted.")
        await update_template(session, template, TemplateUpdate.model_validate(form), state.clock())
    except (ValidationError, TemplateInvalid, TemplateConflict) as exc:
        discard(session)
        return redirect(back, f"Not saved: {problem_text(exc)}")
    return redirect(back, "Template saved.")


# --- saved lists ---------------------------------------------------------------------------


async def _list(session: SessionDep, agent_id: uuid.UUID, list_id: uuid.UUID) -> SavedList:
    return found(await get_list(session, agent_id, list_id), "list")


@router.post("/lists")
async def save_list(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await posted_form(request)
    query = form.get("query", "")
    back = f"/app/clients{query}" if query.startswith("?") else "/app/clients"
    try:
        where = client_filter(_params(query))
        data = ListCreate(name=form.get("name", ""), filter=where)
        saved = await create_list(session, agent.id, data, state.clock())
    except (ValidationError, ListConflict) as exc:
        discard(session)
        return redirect(back, f"Not saved: {problem_text(exc)}")
    return redirect(f"/app/clients?list={saved.id}", f"List “{saved.name}” saved.")


def _params(query: str) -> QueryParams:
    return QueryParams(query.removeprefix("?"))


@router.post("/lists/{list_id}/bulk")
async def bulk_list(
    list_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> Response:
    saved = await _list(session, agent.id, list_id)
    form = await posted_form(request)
    tags = {k: [t.strip() for t in form.get(k, "").split(",") if t.strip()]
            for k in ("add_tags", "remove_tags")}  # fmt: skip
    back = f"/app/clients?list={saved.id}"
    try:
        data = ListBulkUpdate.model_validate({"stage": form.get("stage") or None, **tags})
    except ValidationError as exc:
        return redirect(back, f"Nothing changed: {problem_text(exc)}")
    result, changes = await bulk_update_list(session, saved, data, state.clock(), ns=state.bus.ns)
    await hooks.notify(session, changes)
    return redirect(back, f"{result.changed} client(s) in “{saved.name}” changed.")


@router.post("/lists/{list_id}/delete")
async def delete_list(list_id: uuid.UUID, agent: WebAgent, session: SessionDep) -> Response:
    saved = await _list(session, agent.id, list_id)
    await forget_list(session, saved)
    return redirect("/app/clients", f"List “{saved.name}” deleted; its clients stay.")


@router.get("/lists/{list_id}/export.csv")
async def export_list(
    list_id: uuid.UUID, agent: WebAgent, session: SessionDep, state: StateDep
) -> StreamingResponse:
    saved = await _list(session, agent.id, list_id)
    return StreamingResponse(
        export_rows(state.sessions, agent.id, filter_of(saved)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="list.csv"'},
    )
