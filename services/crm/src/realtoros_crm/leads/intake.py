"""Taking a lead: create the client, or update the one this lead already is — by the
source's own lead id first, then by email as the CSV import judges duplicates (the same
functions: an email match is the same client, a phone match is a new client reported as a
possible duplicate). The new client gets the plans of its stage and the agent's default
plan (the stage hooks), and the plan of the key it came through. Flushes only: the caller
commits."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import Namespace
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.repository import lock_agent_clients
from realtoros_crm.clients.schemas import ClientUpdate
from realtoros_crm.clients.service import create_client, email_key, get_client, update_client
from realtoros_crm.clients.stages import StageChange, StageHooks
from realtoros_crm.imports.service import Progress, admit_row, existing_matches
from realtoros_crm.leads.form import Lead
from realtoros_crm.leads.repository import link_lead, lock_client_of_lead
from realtoros_crm.plans.runs import PlanConflict, apply_plan
from realtoros_crm.plans.service import get_plan


@dataclass(frozen=True)
class LeadSource:
    """Where a lead came from: its name, and the plan its leads are put on."""

    name: str
    plan_id: uuid.UUID | None = None


@dataclass
class LeadTaken:
    client_id: uuid.UUID
    created: bool
    duplicates: list[dict[str, Any]] = field(default_factory=list)


async def take_lead(
    session: AsyncSession,
    agent_id: uuid.UUID,
    lead: Lead,
    source: LeadSource,
    *,
    ns: Namespace,
    hooks: StageHooks,
    now: datetime,
) -> LeadTaken:
    await lock_agent_clients(session, agent_id)
    known = await _client_of_lead(session, agent_id, source.name, lead.lead_id)
    progress = Progress()
    change: StageChange | None
    if known is None:
        data = lead.client.model_copy(update={"source": lead.client.source or source.name})
        by_email, by_phone = await existing_matches(session, agent_id, [(1, data)])
        if admit_row(progress, 1, data, by_email, by_phone):
            client, change = await create_client(session, agent_id, data, now=now)
            await hooks.notify(session, [change])
            await _start_source_plan(session, client, source, now)
            await _link(session, agent_id, source.name, lead.lead_id, client.id, now)
            return LeadTaken(client.id, True, progress.duplicates)
        known = await get_client(session, agent_id, by_email[email_key(data.email)], lock=True)
        assert known is not None, "existing_matches found the client in this transaction"
    change = await update_client(session, known, _update_of(known, lead), ns, now=now)
    await hooks.notify(session, [change] if change is not None else [])
    await _link(session, agent_id, source.name, lead.lead_id, known.id, now)
    return LeadTaken(known.id, False, progress.duplicates)


async def _client_of_lead(
    session: AsyncSession, agent_id: uuid.UUID, source: str, lead_id: str | None
) -> Client | None:
    if lead_id is None:
        return None
    return await lock_client_of_lead(session, agent_id, source, lead_id)


def _update_of(client: Client, lead: Lead) -> ClientUpdate:
    """The fields the lead sent; tags and custom fields are added to, never replaced."""
    sent = lead.client.model_dump(include=set(lead.sent_fields) - {"source"})
    if "tags" in sent:
        sent["tags"] = list(dict.fromkeys([*client.tags, *sent["tags"]]))[:50]
    if "custom_fields" in sent:
        sent["custom_fields"] = dict(
            list({**client.custom_fields, **sent["custom_fields"]}.items())[:50]
        )
    return ClientUpdate.model_validate(sent)


async def _link(
    session: AsyncSession,
    agent_id: uuid.UUID,
    source: str,
    lead_id: str | None,
    client_id: uuid.UUID,
    now: datetime,
) -> None:
    """Remember the source's lead id for the client (a deleted client's id moves on)."""
    if lead_id is not None:
        await link_lead(session, agent_id, source, lead_id, client_id, now)


async def _start_source_plan(
    session: AsyncSession, client: Client, source: LeadSource, now: datetime
) -> None:
    if source.plan_id is None:
        return
    plan = await get_plan(session, client.agent_id, source.plan_id)
    if plan is None:
        return  # deleted since the key was made: the stage's plans still apply
    # PlanConflict: the stage hooks already started it, or the client takes no follow-ups.
    with contextlib.suppress(PlanConflict):
        await apply_plan(session, client, plan, start=now, now=now)
