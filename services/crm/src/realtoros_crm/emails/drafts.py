"""The agent's hand on a draft: edit, regenerate with extra instructions, approve (the
exact saved text goes to the mailer as EmailApproved), and drafts on demand. Events go
through the outbox in the transaction of the change. Flushes only: the caller commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import DeliveryContext, DraftRequested, EmailApproved, TaskDue
from realtoros_contracts.rendering import missing_sender_details
from realtoros_crm.activities.repository import (
    recent_timelines,
    record_email_activity,
)
from realtoros_crm.agents.models import Agent
from realtoros_crm.claims.repository import load_templates
from realtoros_crm.claims.taskdue import (
    ClaimContext,
    delivery_context,
    rendered_template,
    task_due_event,
)
from realtoros_crm.clients.models import Client
from realtoros_crm.emails.models import Email
from realtoros_crm.emails.repository import add_email_task
from realtoros_crm.emails.schemas import LlmUse
from realtoros_crm.messaging.outbox import add_to_outbox
from realtoros_crm.plans.runs import client_window
from realtoros_crm.plans.window import next_allowed
from realtoros_crm.tasks.models import Task

ON_DEMAND_PURPOSE = "On demand"


class DraftConflict(Exception):
    """The draft is not in a state that allows this (the API answers 409)."""


class HeldDraft(DraftConflict):
    """The draft is held because the client replied after it was written: approving it
    needs the agent's explicit "send anyway" (the API answers 409 without it)."""

    def __init__(self, held_at: datetime) -> None:
        self.held_at = held_at
        super().__init__(
            f"The client replied on {held_at:%a %d %b %Y at %H:%M} UTC, after this draft was "
            "written, so it was held. Read the reply, then resume the plan or send this "
            "anyway (approve with send_anyway=true)."
        )


async def _people(session: AsyncSession, task: Task) -> tuple[Client, Agent]:
    client = (await session.scalars(select(Client).where(Client.id == task.client_id))).one()
    agent = (await session.scalars(select(Agent).where(Agent.id == task.agent_id))).one()
    return client, agent


def window_opens(task: Task, client: Client, agent: Agent, now: datetime) -> datetime | None:
    """When a plan step's email approved ``now`` goes out, if the sending window is closed
    (None: now). As at claim time, the window holds plan steps only: a one-off email the
    agent asked for goes when they approve it."""
    if task.plan_run_id is None:
        return None
    opens = next_allowed(now, client_window(client, agent))
    return opens if opens - now > timedelta(minutes=1) else None


def _where(status: str) -> str:
    return {
        "composing": "it is being rewritten right now",
        "sending": "it is on its way to the client",
        "sent": "it has already been sent",
        "skipped": "it was skipped",
        "failed": "it could not be sent",
        "unknown": "it may already have been sent",
    }.get(status, f"it is {status.replace('_', ' ')}")


def _held(email: Email | None) -> Email:
    if email is None:
        raise DraftConflict("This task has no draft yet: it is written when the task falls due.")
    if email.status != "awaiting_approval":
        raise DraftConflict(f"This draft can't be changed any more: {_where(email.status)}.")
    return email


def edit_draft(task: Task, subject: str | None, body_text: str | None, now: datetime) -> Email:
    """Keep the agent's text exactly as typed (line breaks and all)."""
    email = _held(task.email)
    if subject is not None:
        email.subject = subject
    if body_text is not None:
        email.body_text = body_text
    email.edited_at = email.updated_at = now
    return email


async def request_draft(
    session: AsyncSession,
    ctx: ClaimContext,
    task: Task,
    email: Email,
    *,
    regenerate: bool,
    now: datetime,
) -> DraftRequested:
    """Queue a DraftRequested for ``email``; the draft always comes back for review."""
    due = await due_again(session, ctx, task, email)
    delivery = due.delivery.model_copy(update={"send_mode": "approval"})
    event = DraftRequested(**{**dict(due), "delivery": delivery, "regenerate": regenerate})
    kind = "regenerate" if regenerate else "draft"
    add_to_outbox(session, ctx.ns, event, event_id=f"{kind}:{email.id}:{uuid.uuid4()}", now=now)
    return event


async def regenerate_draft(
    session: AsyncSession, ctx: ClaimContext, task: Task, extra: str | None, now: datetime
) -> Email:
    email = _held(task.email)
    if extra:
        task.instructions = "\n\n".join(part for part in (task.instructions, extra) if part)
    await request_draft(session, ctx, task, email, regenerate=True, now=now)
    email.status = task.status = "composing"
    email.updated_at = task.updated_at = now
    await session.flush()
    return email


async def approve_draft(
    session: AsyncSession, ctx: ClaimContext, task: Task, now: datetime, send_anyway: bool = False
) -> Email:
    """Send the draft as saved: EmailApproved carries exactly the stored subject and body.
    A draft held because the client replied is sent only with ``send_anyway``."""
    email = _held(task.email)
    if email.held_at is not None and not send_anyway:
        raise HeldDraft(email.held_at)
    event = await approved_event(session, ctx, task, email)
    if missing := missing_sender_details(event.delivery):
        raise DraftConflict(
            f"Not sent: add {' and '.join(missing)} in Settings first (the law requires a "
            "postal address in every email you send)."
        )
    client, agent = await _people(session, task)
    add_to_outbox(
        session,
        ctx.ns,
        event,
        # A held draft sent anyway: a new id (a first approval may have been withdrawn).
        event_id=f"approved:{email.id}:anyway:{uuid.uuid4().hex[:12]}"
        if event.override_hold
        else f"approved:{email.id}",
        now=now,
        not_before=window_opens(task, client, agent, now),
    )
    email.status = task.status = "sending"
    email.approved_at = email.updated_at = task.updated_at = now
    summary = f"Email approved{' (edited)' if email.edited_at else ''}: {email.subject}"
    if event.override_hold:
        summary += " (sent anyway after the client's reply)"
    record_email_activity(session, email, "email_approved", summary, now)
    await session.flush()
    return email


async def approved_event(
    session: AsyncSession, ctx: ClaimContext, task: Task, email: Email
) -> EmailApproved:
    """The mailer's order to send ``email``'s stored text (raises DraftConflict when it
    cannot be sent)."""
    client, agent = await _people(session, task)
    if (reason := client.no_email_reason()) is not None:
        raise DraftConflict(f"Not sent: {reason}.")
    if not email.subject or not email.body_text:
        raise DraftConflict("The draft has no subject or no text: write one, then approve.")
    return EmailApproved(
        email_id=email.id,
        task_id=task.id,
        agent_id=agent.id,
        client_id=client.id,
        subject=email.subject,
        body_text=email.body_text,
        delivery=delivery_context(client, agent, ctx),
        # Only a held draft the agent approved anyway reaches here held (approve_draft
        # refuses it otherwise): the mailer sends a held email only with this set.
        override_hold=email.held_at is not None,
    )


async def due_again(session: AsyncSession, ctx: ClaimContext, task: Task, email: Email) -> TaskDue:
    """The TaskDue of a claimed task, built again (the reconciler re-asks the composer)."""
    client, agent = await _people(session, task)
    if (reason := client.no_email_reason()) is not None:
        raise DraftConflict(f"no email can be drafted: {reason}")
    timeline = (await recent_timelines(session, [client.id]))[client.id]
    template = None
    if task.template_id is not None:  # the agent's own template, rendered as the claim does
        templates = await load_templates(session, [task.template_id])
        template, problem = rendered_template(templates.get(task.template_id), client, agent)
        if problem is not None:
            raise DraftConflict(f"Not sent: {problem}.")
    return task_due_event(
        task, client, agent, timeline, email_id=email.id, ctx=ctx, template=template
    )


def email_delivery(ctx: ClaimContext, client: Client, agent: Agent) -> DeliveryContext:
    """What goes around the text of an email to ``client``: the sender, the signature and
    postal address, the unsubscribe link (as the mailer renders it)."""
    return delivery_context(client, agent, ctx)


async def draft_on_demand(
    session: AsyncSession, ctx: ClaimContext, client: Client, instructions: str, now: datetime
) -> Email:
    """A new email task for the client, composing now; its draft waits for review."""
    task, email = await add_email_task(
        session,
        client,
        purpose=ON_DEMAND_PURPOSE,
        status="composing",
        at=now,
        instructions=instructions or None,
    )
    await request_draft(session, ctx, task, email, regenerate=False, now=now)
    await session.flush()
    return email


async def llm_use(session: AsyncSession, agent_id: uuid.UUID) -> LlmUse:
    """Whether the composer writes the agent's drafts with an LLM. The CRM does not see the
    composer's settings: its newest draft tells (not one of the agent's own templates,
    which are sent as written; "unknown" before the first)."""
    statement = (
        select(Email.composer)
        .join(Task, Task.id == Email.task_id)
        .where(
            Email.agent_id == agent_id,
            Email.composer.in_(("llm", "template")),
            Task.template_id.is_(None),
        )
        .order_by(Email.created_at.desc())
        .limit(1)
    )
    composer = (await session.scalars(statement)).one_or_none()
    return "unknown" if composer is None else "in_use" if composer == "llm" else "not_set_up"


def llm_warning(use: LlmUse, instructions: bool) -> str | None:
    """What the agent is told before asking for a draft (None: an LLM writes it)."""
    if use == "in_use":
        return None
    ignored = " Your instructions can't be followed without one: edit the text by hand."
    if use == "not_set_up":
        return (
            "No LLM is set up (your last draft came from the standard template): this draft "
            "will be the standard template too, held for your review."
            + (ignored if instructions else "")
        )
    return (
        "Without an LLM (OPENAI_API_KEY for the composer), the draft is the standard "
        "template, held for your review, and instructions are not applied."
    )
