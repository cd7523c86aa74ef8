"""Logging a call, a meeting or a note on a client's timeline (read it with
``GET /clients/{id}/timeline``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from realtoros_crm.activities.schemas import ActivityCreate, ActivityLogged, ActivityPublic
from realtoros_crm.api.deps import CurrentAgentId, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.clients.service import get_client
from realtoros_crm.contacts.service import TaskConflict, TaskNotFound, log_activity

router = APIRouter(prefix="/clients", tags=["activities"])  # the timeline's


@router.post(
    "/{client_id}/activities",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 409),
)
async def add_activity(
    client_id: uuid.UUID,
    data: ActivityCreate,
    agent_id: CurrentAgentId,
    session: SessionDep,
    state: StateDep,
) -> ActivityLogged:
    """Log a call (its outcome and length), a meeting or a note. A connected call or a
    meeting pauses each active plan whose ``pause_on_conversation_minutes`` it reaches;
    with ``task_id`` and ``complete_task`` the task it was logged from is completed."""
    client = found(await get_client(session, agent_id, client_id, lock=True), "client", client_id)
    try:
        logged = await log_activity(session, client, data, state.clock(), ns=state.bus.ns)
    except TaskNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except TaskConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await session.flush()  # the response shows the ids and defaults
    return ActivityLogged(
        activity=ActivityPublic.model_validate(logged.activity),
        paused_plans=logged.paused_plans,
        task_completed=logged.task_completed,
    )
