""" "A client entered stage X": the in-process hook other parts of the CRM (follow-up
plans) attach to, without the clients package importing them.

``build_state`` puts a list on ``CrmState.stage_hooks``; append an async callable there:

    async def on_stage_changes(session: AsyncSession, changes: Sequence[StageChange]) -> None

Every change of stage is passed — a new client (``old`` is None: created or imported), a
PATCH, a bulk update — inside the request's transaction, before it commits, so what the
hook writes commits or rolls back with the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class StageChange:
    agent_id: uuid.UUID
    client_id: uuid.UUID
    old: str | None
    """None for a client that has just been created or imported."""
    new: str
    at: datetime


StageHook = Callable[[AsyncSession, Sequence[StageChange]], Awaitable[None]]


class StageHooks:
    def __init__(self, hooks: Sequence[StageHook]) -> None:
        self._hooks = list(hooks)

    async def notify(self, session: AsyncSession, changes: Sequence[StageChange]) -> None:
        if changes:
            for hook in self._hooks:
                await hook(session, changes)


async def get_stage_hooks(request: Request) -> StageHooks:
    return StageHooks(request.app.state.crm.stage_hooks)


StageHooksDep = Annotated[StageHooks, Depends(get_stage_hooks)]
