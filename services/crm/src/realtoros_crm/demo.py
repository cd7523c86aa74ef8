"""``realtoros-crm demo --email …``: an account (new, or an existing one whose password is
given) filled with realistic clients, plans,
drafts and email history, so a first look at the web app is not an empty screen.

Every address is at a reserved example domain (example.com/.org/.net), so nothing can
reach a real person; the demo queues no event, so nothing is composed or sent until the
agent approves a draft. Clients, plans and tasks go through the same services as the API;
the past emails are written as the event consumers would have recorded them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.activities.repository import record_email_activity
from realtoros_crm.agents.repository import find_agent_by_email
from realtoros_crm.agents.schemas import AgentCreate, ProfileUpdate
from realtoros_crm.agents.service import EmailTaken, authenticate, register, update_profile
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.service import create_client
from realtoros_crm.db import Sessions
from realtoros_crm.demo_data import PURPOSES, SUBJECTS, body, client_data
from realtoros_crm.emails.models import Email
from realtoros_crm.emails.outcomes import bounce_in_words
from realtoros_crm.emails.repository import add_email_task
from realtoros_crm.plans.runs import apply_plan
from realtoros_crm.plans.schemas import PlanCreate, StepIn
from realtoros_crm.plans.service import create_plan, ensure_default_plan, list_plans
from realtoros_crm.tasks.models import Task

DEMO = "demo"  # composer and transport of the made-up history: nothing wrote or sent it
DEMO_PLAN = "Open house follow-up"


class AlreadyFilled(Exception):
    """The account already holds the demo data."""


@dataclass
class DemoAccount:
    agent_id: uuid.UUID
    email: str
    clients: int
    emails: int
    drafts: int


async def _email(
    session: AsyncSession,
    client: Client,
    subject: str,
    at: datetime,
    status: str,
    reason: str | None = None,
) -> Email:
    """A follow-up task and its email, as the claimer and the consumers leave them."""
    _, email = await add_email_task(
        session,
        client,
        purpose=PURPOSES[len(subject) % len(PURPOSES)],
        status=status,
        at=at,
        failure_reason=reason,
        subject=subject,
        body_text=body(client, subject),
        # Demo data says what it is: no LLM wrote it and no email service sent it.
        composer=DEMO,
        model=None,
    )
    return email


async def _sent_history(
    session: AsyncSession, client: Client, now: datetime, rng: random.Random
) -> int:
    count = rng.randint(1, 3)
    for k in range(count):
        at = now - timedelta(days=rng.randint(1, 27), hours=rng.randint(0, 8), minutes=k * 7)
        street = (client.property_address or "1 Elm St,").split(",")[0].split(" ", 1)[-1]
        subject = rng.choice(SUBJECTS).format(street=street)
        email = await _email(session, client, subject, at, "sent")
        email.sent_at, email.transport = at, DEMO
        email.provider_message_id = f"demo-{email.id}"
        email.delivered_at = at + timedelta(seconds=40)
        record_email_activity(
            session, email, "email_drafted", f"Email drafted: {subject}", at - timedelta(minutes=2)
        )
        record_email_activity(session, email, "email_sent", f"Email sent: {subject}", at)
        if rng.random() < 0.6:
            email.first_opened_at, email.open_count = at + timedelta(hours=3), rng.randint(1, 4)
            record_email_activity(
                session, email, "email_opened", f"Opened: {subject}", email.first_opened_at
            )
        if rng.random() < 0.2:
            email.first_clicked_at, email.click_count = at + timedelta(hours=4), 1
        client.last_contacted_at = max(client.last_contacted_at or at, at)
    return count


async def _draft(session: AsyncSession, client: Client, now: datetime) -> None:
    subject = "Checking in after the open house"
    email = await _email(session, client, subject, now - timedelta(minutes=20), "awaiting_approval")
    record_email_activity(
        session, email, "email_drafted", f"Email drafted: {subject}", email.created_at
    )


async def _failed(session: AsyncSession, client: Client, now: datetime) -> None:
    """Sent, then a permanent bounce — as the CRM records SES's notification of one."""
    subject, detail = "Your market update", "General; 550 5.1.1 mailbox does not exist"
    at = now - timedelta(days=1, hours=2)
    reason = f"bounced: {bounce_in_words(detail)}"
    email = await _email(session, client, subject, at, "failed", reason)
    email.sent_at, email.provider_message_id, email.transport = at, f"demo-{email.id}", DEMO
    email.bounced_at, email.bounce_type = at + timedelta(minutes=2), "permanent"
    record_email_activity(session, email, "email_sent", f"Email sent: {subject}", at)
    summary = (
        f"Email bounced: {bounce_in_words(detail)}. Follow-up emails to this address have "
        f"stopped (server said: {detail})"
    )
    record_email_activity(session, email, "email_bounced", summary, email.bounced_at)
    # A hard bounce unsubscribes the client (emails/outcomes.py), so no follow-up retries.
    client.unsubscribed = True
    unsubscribed = "Follow-up emails stopped: the address bounced (it no longer receives email)."
    record_email_activity(session, email, "unsubscribed", unsubscribed, email.bounced_at)


async def _plans(session: AsyncSession, agent_id: uuid.UUID, now: datetime) -> None:
    await ensure_default_plan(session, agent_id, now)
    steps = [
        StepIn(delay_days=0, time_of_day=time(17), purpose="Thanks for visiting"),
        StepIn(delay_days=2, time_of_day=time(10), action="call", purpose="Call about offers"),
        StepIn(delay_days=7, time_of_day=time(10), purpose="New listings nearby"),
    ]
    data = PlanCreate(
        name=DEMO_PLAN,
        steps=steps,
        description="For visitors who signed in at an open house.",
    )
    await create_plan(session, agent_id, data, now=now)


async def _account(session: AsyncSession, email: str, password: str, now: datetime) -> uuid.UUID:
    """A new account, or the existing one of this address when the password matches (the
    README's walk-through registers dana@harbor.example before it runs the demo)."""
    agent = await find_agent_by_email(session, email)
    if agent is not None:
        if await authenticate(session, email, password) is None:
            raise EmailTaken(email)
        if any(p.name == DEMO_PLAN for p in await list_plans(session, agent.id)):
            raise AlreadyFilled(email)
    else:
        created = AgentCreate(
            email=email,
            password=password,
            name="Dana Ruiz",
            brokerage="Harbor Realty",
            title="Realtor®",
            phone="+1 555 0100",
            timezone="America/New_York",
        )
        agent = await register(session, created)
    profile = ProfileUpdate(
        signature="Dana Ruiz\nHarbor Realty · +1 555 0100",
        tone="warm and concise",
        send_mode="approval",
        sending_days=[1, 2, 3, 4, 5, 6],
        sending_start=time(8, 30),
        sending_end=time(18),
        postal_address="1 Harbor Way, Salem, MA 01970",
    )
    await update_profile(session, agent, profile, now)
    return agent.id


async def fill_demo(sessions: Sessions, now: datetime, email: str, password: str) -> DemoAccount:
    """Create the account and everything in it, in one transaction."""
    rng = random.Random(8)  # the same demo every time
    async with sessions() as session:
        agent_id = await _account(session, email, password, now)
        await _plans(session, agent_id, now)
        clients, sent = [], 0
        for n in range(24):
            created = now - timedelta(days=40 - n, hours=n % 5)
            client, _ = await create_client(session, agent_id, client_data(n, rng), now=created)
            clients.append(client)
        for client in clients[:18]:
            sent += await _sent_history(session, client, now, rng)
        for client in clients[18:21]:
            await _draft(session, client, now)
        await _failed(session, clients[21], now)
        await session.flush()
        await _upcoming(session, clients, now)
        await session.commit()
    return DemoAccount(agent_id, email, len(clients), sent, drafts=3)


async def _upcoming(session: AsyncSession, clients: list[Client], now: datetime) -> None:
    """A plan running for a few clients (future steps), and a call that is overdue."""
    plan = next(p for p in await list_plans(session, clients[0].agent_id) if p.builtin)
    for client in clients[1:4]:
        if client.no_follow_up_reason() is None:
            await apply_plan(session, client, plan, start=now, now=now)
    call = Task(
        agent_id=clients[5].agent_id,
        client_id=clients[5].id,
        task_type="call",
        purpose="Call about the inspection",
        due_at=now - timedelta(hours=5),
        created_at=now - timedelta(days=2),
        updated_at=now - timedelta(days=2),
        email=None,
        priority="high",
    )
    session.add(call)
    await session.flush()


async def run_demo(database_url: str, email: str, password: str) -> int:
    """The command: one line to say what was made (or why not), exit status 0 or 1."""
    from realtoros_crm.clock import system_clock
    from realtoros_crm.db import build_engine, build_sessions

    engine = build_engine(database_url)
    try:
        made = await fill_demo(build_sessions(engine), system_clock(), email, password)
    except EmailTaken:
        print(
            f"demo: {email} already has an account with another password: give its "
            "password with --password, or choose another address"
        )
        return 1
    except AlreadyFilled:
        print(f"demo: {email} already holds the demo data: sign in at /app")
        return 0
    except ValidationError as exc:
        print(f"demo: {exc.errors()[0]['msg']}")
        return 1
    finally:
        await engine.dispose()
    print(
        f"demo: signed up {made.email} (password: {password}) with {made.clients} clients, "
        f"{made.emails} sent emails and {made.drafts} drafts awaiting approval; "
        "sign in at /app"
    )
    return 0
