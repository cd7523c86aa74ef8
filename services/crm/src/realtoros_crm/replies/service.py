"""A client's reply, as the mailer reported it: found, recorded once, and acted on.

Which client: the email the reply answers (its id came through the signed reply address or
In-Reply-To), or — when the mailer knew only the sender — the one client whose address it
is among those emailed in the last :data:`SENDER_MATCH_DAYS` days (across agents: two
matches are ambiguous and the reply is dropped). A reply about an email or client that no
longer exists is logged and dropped.

A person's reply: on the email (replied), on the timeline (subject and new text, the
attachments' names, the sender checks), every active plan run of the client does what its
plan says (pause by default), their unsent emails are held (``hold_emails``), a reply
asking to stop unsubscribes the client as the link does, and ClientReplyRecorded goes out
through the outbox (the ``client.replied`` webhook). An automatic answer is only recorded.
Flushes only: the consumer owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import (
    AutoReplyReceived,
    ClientReplied,
    ClientReplyRecorded,
    EmailApproved,
    EmailHeld,
    Namespace,
)
from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.unsubscribing import unsubscribe_client
from realtoros_crm.emails.models import Email
from realtoros_crm.messaging.models import OutboxMessage
from realtoros_crm.messaging.outbox import add_to_outbox
from realtoros_crm.plans.contact import REPLY_REASON, respond_to_client_contact
from realtoros_crm.plans.lifecycle import stop_client_plans
from realtoros_crm.plans.models import Plan, PlanRun
from realtoros_crm.replies.models import REPLY_KIND, Reply
from realtoros_crm.tasks.models import Task

log = logging.getLogger(__name__)

SENDER_MATCH_DAYS = 60
REPLY_EVENT_TEXT = 2000
Inbound = ClientReplied | AutoReplyReceived


@dataclass(frozen=True)
class Target:
    client: Client
    email: Email | None


async def find_target(session: AsyncSession, event: Inbound, now: datetime) -> Target | None:
    if event.email_id is not None:
        email = await session.get(Email, event.email_id, with_for_update=True)
        if email is None:
            return None
        client = await session.get(Client, email.client_id, with_for_update=True)
        return None if client is None or client.deleted_at else Target(client, email)
    return await _by_sender(session, event.from_email, now)


async def _by_sender(session: AsyncSession, address: str, now: datetime) -> Target | None:
    since = now - timedelta(days=SENDER_MATCH_DAYS)
    statement = (
        select(Email)
        .join(Client, Client.id == Email.client_id)
        .where(
            func.lower(Email.to_email) == address.lower(),
            Email.sent_at >= since,
            Client.deleted_at.is_(None),
        )
        .order_by(Email.sent_at.desc())
    )
    emails = (await session.scalars(statement)).all()
    if len({email.client_id for email in emails}) != 1:
        return None
    client = await session.get(Client, emails[0].client_id, with_for_update=True)
    return Target(client, emails[0]) if client is not None else None


def timeline_text(event: Inbound) -> str:
    subject = event.subject or "(no subject)"
    lines = [f"{subject}", "", event.text or "(no new text)"]
    if event.attachments:
        lines += ["", "Attachments (not kept): " + ", ".join(event.attachments)]
    v = event.verdicts
    if any((v.spf, v.dkim, v.dmarc)):
        lines += [
            "",
            f"Sender checks: SPF {v.spf or '-'}, DKIM {v.dkim or '-'}, DMARC {v.dmarc or '-'}",
        ]
    return "\n".join(lines)


def _reply_row(event: Inbound, target: Target) -> Reply:
    return Reply(
        id=uuid.uuid4(),
        agent_id=target.client.agent_id,
        client_id=target.client.id,
        email_id=target.email.id if target.email else None,
        kind="reply" if isinstance(event, ClientReplied) else "auto-reply",
        matched_by=event.matched_by,
        from_email=event.from_email,
        subject=event.subject,
        text=event.text,
        attachments=list(event.attachments),
        verdicts=event.verdicts.model_dump(),
        unsubscribe_requested=isinstance(event, ClientReplied) and event.unsubscribe_requested,
        received_at=event.received_at,
    )


async def record_reply(session: AsyncSession, ns: Namespace, event: Inbound, now: datetime) -> bool:
    """Apply ``event``; False when it is about nothing the CRM has (dropped)."""
    target = await find_target(session, event, now)
    if target is None:
        log.warning(
            "reply from %s (email %s, matched by %s) matches no client: dropped",
            event.from_email,
            event.email_id,
            event.matched_by,
        )
        return False
    row = _reply_row(event, target)
    session.add(row)
    client, email = target.client, target.email
    email_id = email.id if email else None
    if isinstance(event, AutoReplyReceived):
        summary = f"Automatic reply ({event.reason}): {timeline_text(event)}"
        _timeline(session, client, "client_auto_replied", summary, event.received_at, email_id)
        await session.flush()
        return True
    if email is not None:
        email.replied_at, email.updated_at = event.received_at, now
    _timeline(session, client, REPLY_KIND, timeline_text(event), event.received_at, email_id)
    await respond_to_client_contact(session, client.id, REPLY_REASON, now)
    await hold_emails(session, ns, client, now, REPLY_REASON)
    add_to_outbox(session, ns, reply_recorded(row), event_id=f"reply-recorded:{row.id}", now=now)
    if event.unsubscribe_requested:
        reason = "client unsubscribed (a reply asking to stop)"
        await stop_client_plans(session, client.id, reason, now)
        unsubscribe_client(
            session,
            ns,
            client,
            source="reply",
            summary="Unsubscribed from follow-up emails: their reply asked to stop.",
            at=event.received_at,
            now=now,
            email_id=email_id,
            address=client.email or event.from_email,
        )
    await session.flush()
    return True


def _timeline(
    session: AsyncSession,
    client: Client,
    kind: str,
    summary: str,
    at: datetime,
    email_id: uuid.UUID | None,
) -> None:
    record_activity(
        session,
        agent_id=client.agent_id,
        client_id=client.id,
        kind=kind,
        summary=summary,
        occurred_at=at,
        email_id=email_id,
    )


HOLDABLE = ("composing", "awaiting_approval", "sending")
"""An email not yet handed to the mailer's transport as far as the CRM knows: being
composed, waiting for approval, or approved/automatic and queued to send."""


async def hold_emails(
    session: AsyncSession, ns: Namespace, client: Client, now: datetime, reason: str
) -> list[Email]:
    """The client spoke since these emails were written: each unsent email of theirs is
    held (unless its plan says a reply changes nothing), and the mailer is told
    (EmailHeld, through the outbox) so that it sends none of them unless the agent approves
    it again, knowingly. A held email waits for approval: a draft composed after this is
    stored as awaiting approval, and a queued approval is withdrawn. An email the mailer
    already handed to the provider cannot be recalled: its EmailSent still lands."""
    statement = (
        select(Email, Task)
        .join(Task, Task.id == Email.task_id)
        .outerjoin(PlanRun, PlanRun.id == Task.plan_run_id)
        .outerjoin(Plan, Plan.id == PlanRun.plan_id)
        .where(
            Email.client_id == client.id,
            Email.status.in_(HOLDABLE),
            Email.sent_at.is_(None),
            or_(
                Email.held_at.is_(None),
                and_(Email.approved_at.is_not(None), Email.approved_at > Email.held_at),
            ),
            or_(Plan.on_reply.is_(None), Plan.on_reply != "continue"),
        )
        .order_by(Email.created_at, Email.id)
        .with_for_update(of=(Email, Task))
    )
    held = []
    for email, task in (await session.execute(statement)).all():
        email.held_at = email.updated_at = now
        if email.status == "sending":
            email.status = task.status = "awaiting_approval"
            task.updated_at = now
            await _withdraw_approval(session, email.id)
        event = EmailHeld(
            email_id=email.id,
            task_id=task.id,
            agent_id=email.agent_id,
            client_id=email.client_id,
            held_at=now,
            reason=reason,
        )
        add_to_outbox(session, ns, event, event_id=f"held:{email.id}:{now.timestamp()}", now=now)
        held.append(email)
    return held


async def _withdraw_approval(session: AsyncSession, email_id: uuid.UUID) -> None:
    """An approval still queued (the sending window was closed) is not published at all."""
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.event_type == EmailApproved.TYPE,
            OutboxMessage.event_id.like(f"approved:{email_id}%"),
            OutboxMessage.published_at.is_(None),
        )
    )


def reply_recorded(row: Reply) -> ClientReplyRecorded:
    return ClientReplyRecorded(
        agent_id=row.agent_id,
        client_id=row.client_id,
        reply_id=row.id,
        email_id=row.email_id,
        received_at=row.received_at,
        subject=row.subject[:300],
        text=row.text[:REPLY_EVENT_TEXT],
        unsubscribe_requested=row.unsubscribe_requested,
    )
