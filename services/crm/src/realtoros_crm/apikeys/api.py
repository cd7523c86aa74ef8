"""The agent's API keys: create (the key is shown once), list, revoke. Only the agent's own
sign-in reaches these routes, never a key."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from realtoros_crm.apikeys.service import UnknownPlan, create_key, list_keys, revoke_key

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(404))
async def add_api_key(
    data: ApiKeyCreate, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> ApiKeyCreated:
    """Create a key with some scopes; the answer is the only time the key is shown."""
    try:
        key, secret = await create_key(session, agent_id, data, state.clock())
    except UnknownPlan as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return ApiKeyCreated.model_validate(
        {**ApiKeyPublic.model_validate(key).model_dump(), "key": secret}
    )


@router.get("")
async def read_api_keys(agent_id: CurrentAgentId, session: SessionDep) -> list[ApiKeyPublic]:
    """The agent's keys (revoked ones last), with when each was last used."""
    return [ApiKeyPublic.model_validate(key) for key in await list_keys(session, agent_id)]


@router.delete(
    "/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def revoke_api_key(
    key_id: uuid.UUID, agent_id: CurrentAgentId, session: SessionDep, state: StateDep
) -> None:
    """Revoke a key: from now on it answers 401."""
    found(await revoke_key(session, agent_id, key_id, state.clock()), "API key", key_id)
