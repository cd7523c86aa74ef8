"""The client list (search, filters, sort, pages, bulk changes) and the new/edit forms."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.bulk import bulk_update
from realtoros_crm.clients.listing import ClientFilter, InvalidCursor, list_clients
from realtoros_crm.clients.models import STAGES, Client
from realtoros_crm.clients.schemas import BulkUpdate, ClientCreate, ClientUpdate
from realtoros_crm.clients.service import create_client, get_client, update_client
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.customfields.models import CustomField
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.db import discard
from realtoros_crm.lists.models import SavedList
from realtoros_crm.lists.service import filter_of, get_list
from realtoros_crm.tasks.service import next_tasks
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import field_errors, page, plural, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/clients")

PAGE_SIZE = 20
FORM_FIELDS = (
    "name",
    "email",
    "phone",
    "stage",
    "property_address",
    "property_type",
    "source",
    "timezone",
    "notes",
)


def client_filter(params: QueryParams) -> ClientFilter:
    """The list's filters from its query string (also what a saved list keeps)."""
    raw: dict[str, Any] = {key: params.get(key) or None for key in ("q", "source", "sort", "order")}
    raw = {k: v for k, v in raw.items() if v is not None}
    # Newest first unless the agent chose: the client just added is the one they look for.
    if raw.get("sort", "created_at") in ("created_at", "last_contacted_at"):
        raw.setdefault("order", "desc")
    raw["stage"] = [s for s in params.getlist("stage") if s]
    raw["tag"] = [t for t in params.getlist("tag") if t]
    raw["field"] = [f.strip() for f in params.getlist("field") if f.strip()]
    if params.get("unsubscribed") in ("true", "false"):
        raw["unsubscribed"] = params["unsubscribed"] == "true"
    return ClientFilter.model_validate(raw)


async def _saved(request: Request, session: AsyncSession, agent_id: uuid.UUID) -> SavedList | None:
    wanted = request.query_params.get("list", "")
    saved = await get_list(session, agent_id, uuid.UUID(wanted)) if len(wanted) == 36 else None
    if wanted and saved is None:
        raise PageNotFound("list")
    return saved


@router.get("")
async def client_list(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    saved = await _saved(request, session, agent.id)
    try:
        where = filter_of(saved) if saved else client_filter(request.query_params)
        cursor = request.query_params.get("cursor") or None
        clients, next_cursor = await list_clients(
            session, agent.id, where, limit=PAGE_SIZE, cursor=cursor
        )
    except (ValidationError, InvalidCursor) as exc:
        message = (
            "; ".join(field_errors(exc).values()) if isinstance(exc, ValidationError) else str(exc)
        )
        return page(
            request,
            "clients.html",
            status_code=400,
            error=message,
            clients=[],
            next_tasks={},
            where=ClientFilter(),
            next_cursor=None,
            stages=STAGES,
            cursor=None,
            saved=saved,
        )
    return page(
        request,
        "clients.html",
        clients=clients,
        next_tasks=await next_tasks(session, agent.id, [c.id for c in clients]),
        where=where,
        next_cursor=next_cursor,
        stages=STAGES,
        cursor=cursor,
        error=None,
        saved=saved,
    )


@router.post("/bulk")
async def bulk_change(
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    stage: Annotated[str, Form()] = "",
    add_tags: Annotated[str, Form()] = "",
    remove_tags: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    where = back if back.startswith("?") else ""
    try:
        data = BulkUpdate.model_validate(
            {
                "ids": [uuid.UUID(i) for i in ids],
                "stage": stage or None,
                "add_tags": _tags(add_tags),
                "remove_tags": _tags(remove_tags),
            }
        )
    except (ValidationError, ValueError) as exc:
        detail = (
            "; ".join(field_errors(exc).values()) if isinstance(exc, ValidationError) else str(exc)
        )
        if not ids:
            detail = "Select at least one client first."
        return redirect(f"/app/clients{where}", f"Nothing changed: {detail}", error=True)
    result, changes = await bulk_update(session, agent.id, data, state.bus.ns, now=state.clock())
    await hooks.notify(session, changes)
    return redirect(f"/app/clients{where}", f"{plural(result.changed, 'client')} changed.")


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _custom_fields(text: str) -> dict[str, str]:
    """``key: value`` lines → the client's custom fields."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if line.strip() and not sep:
            raise ValueError(f"custom field line {line.strip()!r} needs 'name: value'")
        if key.strip():
            fields[key.strip()] = value.strip()
    return fields


TYPED = "cf:"
"""Form inputs of the agent's typed custom fields are named ``cf:<key>``."""


def _form_data(form: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: (form.get(k) or "").strip() or None for k in FORM_FIELDS}
    data["tags"] = _tags(form.get("tags", ""))
    typed = {k.removeprefix(TYPED): v.strip() for k, v in form.items() if k.startswith(TYPED)}
    data["custom_fields"] = _custom_fields(form.get("custom_fields", "")) | {
        k: v for k, v in typed.items() if v
    }
    return data


def _form_values(client: Client, fields: Sequence[CustomField]) -> dict[str, Any]:
    """The edit form's values: typed fields in their inputs, the others as lines."""
    values = {k: getattr(client, k) or "" for k in FORM_FIELDS}
    values["tags"] = ", ".join(client.tags)
    defined = {f.key for f in fields}
    custom = client.custom_fields.items()
    values["custom_fields"] = "\n".join(f"{k}: {v}" for k, v in custom if k not in defined)
    values |= {TYPED + k: str(v) for k, v in custom if k in defined}
    return values


async def _client_form(
    request: Request,
    session: AsyncSession,
    agent_id: uuid.UUID,
    client: Client | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "client_form.html",
        status_code=422 if errors else 200,
        client=client,
        values=values,
        errors=errors or {},
        stages=STAGES,
        custom_defs=await list_fields(session, agent_id),
    )


async def _form_with_errors(
    request: Request,
    session: AsyncSession,
    client: Client | None,
    form: dict[str, str],
    exc: Exception,
    agent_id: uuid.UUID,
) -> Response:
    """The new/edit client form again, as posted, with what was wrong (422)."""
    errors = field_errors(exc) if isinstance(exc, ValidationError) else {"custom_fields": str(exc)}
    if "body" in errors:  # the form as a whole: no email and no phone
        errors["email"] = errors.pop("body").removeprefix("Value error, ")
    return await _client_form(request, session, agent_id, client, form, errors)


async def _posted(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


@router.get("/new")
async def new_client(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    return await _client_form(request, session, agent.id, None, {"stage": "lead"})


@router.post("/new")
async def create(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep, hooks: StageHooksDep
) -> Response:
    form = await _posted(request)
    try:
        data = ClientCreate.model_validate(
            {k: v for k, v in _form_data(form).items() if v is not None}
        )
        client, change = await create_client(session, agent.id, data, now=state.clock())
    except (ValidationError, ValueError) as exc:
        discard(session)
        return await _form_with_errors(request, session, None, form, exc, agent.id)
    await hooks.notify(session, [change])
    return redirect(f"/app/clients/{client.id}", f"{client.name} added.")


@router.get("/{client_id}/edit")
async def edit_client(
    client_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    client = found(await get_client(session, agent.id, client_id), "client")
    values = _form_values(client, await list_fields(session, agent.id))
    return await _client_form(request, session, agent.id, client, values)


@router.post("/{client_id}/edit")
async def save_client(
    client_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
) -> Response:
    client = found(await get_client(session, agent.id, client_id, lock=True), "client")
    form = await _posted(request)
    try:
        raw = _form_data(form)
        raw["unsubscribed"] = form.get("unsubscribed") == "on"
        data = ClientUpdate.model_validate(raw)
        change = await update_client(session, client, data, state.bus.ns, now=state.clock())
    except (ValidationError, ValueError) as exc:
        discard(session)
        return await _form_with_errors(request, session, client, form, exc, agent.id)
    await hooks.notify(session, [change] if change else [])
    return redirect(f"/app/clients/{client.id}", "Saved.")
