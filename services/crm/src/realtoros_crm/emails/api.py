"""Drafts and approval: read, edit, regenerate, approve or skip the draft of a task; ask
for a draft on demand; read an email (its draft and its outcomes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import found
from realtoros_crm.clients.service import get_client
from realtoros_crm.emails.drafts import (
    DraftConflict,
    approve_draft,
    draft_on_demand,
    edit_draft,
    llm_use,
    llm_warning,
    regenerate_draft,
)
from realtoros_crm.emails.listing import get_email
from realtoros_crm.emails.schemas import DraftAccepted, DraftEdit, DraftInstructions
from realtoros_crm.tasks.actions import TaskConflict, finish_task
from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.schemas import EmailPublic, TaskPublic
from realtoros_crm.tasks.service import get_task

router = APIRouter(tags=["drafts"])


async def _task(session: SessionDep, agent_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    return found(await get_task(session, agent_id, task_id, lock=True), "task", task_id)


@contextmanager
def _conflict_is_409() -> Iterator[None]:
    """A draft or task in a state that refuses the action: 409 with the reason."""
    try:
        yield
    except (DraftConflict, TaskConflict) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get("/tasks/{task_id}/draft")
async def read_draft(task_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> EmailPublic:
    """The task's email: the draft as composed, or as the agent last saved it."""
    task = await _task(session, agent.id, task_id)
    if task.email is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} has no draft yet")
    return EmailPublic.model_validate(task.email)


@router.patch("/tasks/{task_id}/draft")
async def change_draft(
    task_id: uuid.UUID, data: DraftEdit, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> EmailPublic:
    """Edit a draft awaiting approval; the approved email is exactly this text."""
    task = await _task(session, agent.id, task_id)
    with _conflict_is_409():
        email = edit_draft(task, data.subject, data.body_text, state.clock())
    await session.flush()  # the response shows the ids and defaults
    return EmailPublic.model_validate(email)


@router.post("/tasks/{task_id}/draft/regenerate", status_code=status.HTTP_202_ACCEPTED)
async def regenerate(
    task_id: uuid.UUID,
    data: DraftInstructions,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
) -> EmailPublic:
    """Compose the draft again with extra instructions; poll the draft for the new text."""
    task = await _task(session, agent.id, task_id)
    with _conflict_is_409():
        email = await regenerate_draft(
            session, state.claim_context, task, data.instructions, state.clock()
        )
    await session.flush()  # the response shows the ids and defaults
    return EmailPublic.model_validate(email)


@router.post("/tasks/{task_id}/draft/approve")
async def approve(
    task_id: uuid.UUID,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    send_anyway: Annotated[
        bool,
        Query(
            description="Send a draft held because the client replied since it was written "
            "(without it such a draft answers 409 with the reply's time)."
        ),
    ] = False,
) -> EmailPublic:
    """Send the draft as saved. A draft held because the client replied needs
    ``send_anyway=true``; otherwise 409 says when the client replied."""
    task = await _task(session, agent.id, task_id)
    with _conflict_is_409():
        email = await approve_draft(
            session, state.claim_context, task, state.clock(), send_anyway=send_anyway
        )
    await session.flush()  # the response shows the ids and defaults
    return EmailPublic.model_validate(email)


@router.post("/tasks/{task_id}/draft/skip")
async def skip_draft(
    task_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> TaskPublic:
    """Do not send this follow-up: the task and its draft are skipped."""
    task = await _task(session, agent.id, task_id)
    with _conflict_is_409():
        await finish_task(session, task, "skip", state.clock(), ns=state.bus.ns)
    await session.flush()  # the response shows the ids and defaults
    return TaskPublic.model_validate(task)


@router.post("/clients/{client_id}/drafts", status_code=status.HTTP_202_ACCEPTED)
async def request_draft_now(
    client_id: uuid.UUID,
    data: DraftInstructions,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
) -> DraftAccepted:
    """Draft an email to the client now; it waits for review. Poll ``GET /emails/{id}``."""
    client = found(await get_client(session, agent.id, client_id), "client", client_id)
    if (reason := client.no_email_reason()) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"no email can be drafted: {reason}")
    use = await llm_use(session, agent.id)  # before this draft, which has no composer yet
    email = await draft_on_demand(
        session, state.claim_context, client, data.instructions, state.clock()
    )
    await session.flush()  # the response shows the ids and defaults
    return DraftAccepted(
        email_id=email.id,
        task_id=email.task_id,
        status="composing",
        llm=use,
        warning=llm_warning(use, bool(data.instructions)),
    )


@router.get("/emails/{email_id}")
async def read_email(email_id: uuid.UUID, agent: CurrentAgent, session: SessionDep) -> EmailPublic:
    """One email: its draft, status and outcomes (delivered, opens, clicks, bounce…)."""
    email = found(await get_email(session, agent.id, email_id), "email", email_id)
    return EmailPublic.model_validate(email)
