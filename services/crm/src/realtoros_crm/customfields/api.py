"""The agent's custom fields: defined once (text, number, date, choice), used by every
client, the list's filters, the CSV import and the email templates."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.customfields.models import CustomField
from realtoros_crm.customfields.schemas import (
    CustomFieldCreate,
    CustomFieldPublic,
    CustomFieldUpdate,
)
from realtoros_crm.customfields.service import (
    FieldConflict,
    FieldValueInvalid,
    create_field,
    get_field,
    list_fields,
    update_field,
)
from realtoros_crm.customfields.service import delete_field as remove_field

router = APIRouter(prefix="/custom-fields", tags=["custom fields"])


async def _field(session: SessionDep, agent_id: uuid.UUID, field_id: uuid.UUID) -> CustomField:
    return found(await get_field(session, agent_id, field_id), "custom field", field_id)


@router.get("")
async def read_fields(agent_id: CurrentAgentId, session: SessionDep) -> list[CustomFieldPublic]:
    """The agent's custom fields, by label."""
    return [CustomFieldPublic.model_validate(f) for f in await list_fields(session, agent_id)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def add_field(
    data: CustomFieldCreate, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> CustomFieldPublic:
    """Define a field every client can have (``key`` is its name in templates)."""
    try:
        field = await create_field(session, agent_id, data, state.clock())
    except FieldConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return CustomFieldPublic.model_validate(field)


@router.patch("/{field_id}", responses=problem_responses(404))
async def change_field(
    field_id: uuid.UUID, data: CustomFieldUpdate, agent_id: CurrentAgentId, session: SessionDep
) -> CustomFieldPublic:
    """Rename a field or change a choice field's choices (its type stays)."""
    field = await _field(session, agent_id, field_id)
    try:
        update_field(field, data)
    except FieldValueInvalid as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return CustomFieldPublic.model_validate(field)


@router.delete(
    "/{field_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def delete_field(field_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep) -> None:
    """Forget the definition; clients keep their values (as free text)."""
    await remove_field(session, await _field(session, agent_id, field_id))
