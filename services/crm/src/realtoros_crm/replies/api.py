"""Clients' replies: list them (unanswered first on the dashboard) and mark one answered."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import found
from realtoros_crm.replies.listing import list_replies, mark_answered
from realtoros_crm.replies.schemas import ReplyPublic

router = APIRouter(prefix="/replies", tags=["replies"])


@router.get("")
async def read_replies(
    agent: CurrentAgent,
    session: SessionDep,
    unanswered: bool = False,
    client_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReplyPublic]:
    """The agent's clients' replies, newest first (``unanswered=true``: still to answer)."""
    found = await list_replies(
        session, agent.id, unanswered=unanswered, client_id=client_id, limit=limit
    )
    return [ReplyPublic.model_validate(reply) for reply in found]


@router.post("/{reply_id}/answered")
async def answer_reply(
    reply_id: uuid.UUID, agent: CurrentAgent, session: SessionDep, state: StateDep
) -> ReplyPublic:
    """Mark the reply answered: it leaves the dashboard's "needs you today"."""
    reply = found(
        await mark_answered(session, agent.id, reply_id, state.clock()), "reply", reply_id
    )
    return ReplyPublic.model_validate(reply)
