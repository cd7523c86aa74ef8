"""One realistic instance of every event, for contract tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from realtoros_contracts import (
    AgentContext,
    AutoReplyReceived,
    ClientContext,
    ClientCreated,
    ClientReplied,
    ClientReplyRecorded,
    ClientUnsubscribed,
    ClientUpdated,
    ComposeFailed,
    DeliveryContext,
    DraftRequested,
    EmailApproved,
    EmailBounced,
    EmailClicked,
    EmailComplained,
    EmailComposed,
    EmailDelivered,
    EmailDeliveryDelayed,
    EmailFailed,
    EmailHeld,
    EmailOpened,
    EmailRejected,
    EmailSent,
    Event,
    SchedulerTick,
    SenderVerdicts,
    TaskCompleted,
    TaskDue,
    TimelineEntry,
    TokenUsage,
)

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
IDS: dict[str, Any] = {
    "email_id": UUID("00000000-0000-4000-8000-000000000001"),
    "task_id": UUID("00000000-0000-4000-8000-000000000002"),
    "agent_id": UUID("00000000-0000-4000-8000-000000000003"),
    "client_id": UUID("00000000-0000-4000-8000-000000000004"),
}
DELIVERY = DeliveryContext(
    to_email="jordan@example.com",
    to_name="Jordan Lee",
    from_name="Dana Ruiz via Harbor Realty",
    reply_to="dana@harbor.example",
    signature="Dana Ruiz\nHarbor Realty\n(555) 010-2000",
    postal_address="1 Harbor Way, Portland, OR 97201",
    unsubscribe_url="https://app.realtoros.example/unsubscribe/abc.def",
    send_mode="automatic",
)


def samples() -> list[Event]:
    task_due = _task_due()
    provider = {**IDS, "provider_message_id": "0100018c-abc", "occurred_at": NOW}
    return [
        task_due,
        DraftRequested(**task_due.model_dump(), regenerate=True),
        ClientUnsubscribed(
            agent_id=IDS["agent_id"],
            client_id=IDS["client_id"],
            email="jordan@example.com",
            source="one-click",
            unsubscribed_at=NOW,
        ),
        ClientCreated(
            agent_id=IDS["agent_id"],
            client_id=IDS["client_id"],
            stage="lead",
            source="Website form",
            created_at=NOW,
        ),
        ClientUpdated(
            agent_id=IDS["agent_id"],
            client_id=IDS["client_id"],
            changed=["stage", "tags"],
            stage="prospect",
            updated_at=NOW,
        ),
        TaskCompleted(
            agent_id=IDS["agent_id"],
            task_id=IDS["task_id"],
            client_id=IDS["client_id"],
            task_type="call",
            purpose="Call about the listing",
            completed_at=NOW,
        ),
        EmailDelivered(**provider),
        EmailDeliveryDelayed(**provider, delay_type="MailboxFull"),
        EmailBounced(
            **provider,
            bounce_type="permanent",
            bounce_subtype="General",
            recipients=["jordan@example.com"],
            diagnostic="smtp; 550 5.1.1 user unknown",
        ),
        EmailComplained(**provider, complaint_type="abuse"),
        EmailRejected(**provider, reason="Bad content"),
        EmailOpened(**provider, user_agent="Mozilla/5.0"),
        EmailClicked(**provider, link="https://harbor.example/listing/12-elm"),
        *_loop_samples(),
        *_inbound_samples(),
    ]


def _inbound_samples() -> list[Event]:
    inbound: dict[str, Any] = {
        "email_id": IDS["email_id"],
        "matched_by": "reply-address",
        "from_email": "jordan@example.com",
        "from_name": "Jordan Lee",
        "subject": "Re: Checking in about 12 Elm St",
        "received_at": NOW,
        "message_id": "<CAF=abc@mail.gmail.com>",
        "verdicts": SenderVerdicts(spf="PASS", dkim="PASS", dmarc="PASS"),
    }
    return [
        ClientReplied(
            **inbound,
            text="Thursday at 4 works.",
            attachments=["plan.pdf"],
            history="On Tue, Ada Agent wrote:\n> Are you still looking?",
        ),
        AutoReplyReceived(**inbound, text="I am out of the office.", reason="Auto-Submitted"),
        EmailHeld(**IDS, held_at=NOW, reason="client replied"),
        ClientReplyRecorded(
            agent_id=IDS["agent_id"],
            client_id=IDS["client_id"],
            reply_id=UUID("7d9c3e1a-2b4f-4c6d-8e0a-1f2b3c4d5e6f"),
            email_id=IDS["email_id"],
            received_at=NOW,
            subject="Re: Checking in about 12 Elm St",
            text="Thursday at 4 works.",
        ),
    ]


def _task_due() -> TaskDue:
    return next(e for e in _loop_samples() if isinstance(e, TaskDue))


def _loop_samples() -> list[Event]:
    return [
        SchedulerTick(schedule="due-tasks", slot=NOW, leader="scheduler-1"),
        TaskDue(
            **IDS,
            due_at=NOW,
            purpose="Day 3",
            instructions="Mention the open house on Saturday.",
            client=ClientContext(
                name="Jordan Lee",
                email="jordan@example.com",
                stage="lead",
                property_address="12 Elm St",
                property_type="residential",
                notes="Wants a yard {big one}",
                custom_fields={"budget": "650k"},
            ),
            agent=AgentContext(
                name="Dana Ruiz", email="dana@harbor.example", brokerage="Harbor Realty"
            ),
            timeline=[TimelineEntry(at=NOW, kind="client.created", summary="Added as a lead")],
            delivery=DELIVERY,
        ),
        EmailComposed(
            **IDS,
            subject="Checking in about 12 Elm St",
            body_text="Hi Jordan,\n\nHow are you?",
            composer="llm",
            model="gpt-4o-mini",
            usage=TokenUsage(prompt_tokens=300, completion_tokens=120, cached_tokens=0),
            provider_request_id="req_123",
            delivery=DELIVERY,
        ),
        ComposeFailed(**IDS, reason="LLM returned 500 three times", attempts=3),
        EmailApproved(**IDS, subject="Edited subject", body_text="Edited body", delivery=DELIVERY),
        EmailSent(**IDS, provider_message_id="0100018c-abc", transport="ses", sent_at=NOW),
        EmailFailed(**IDS, outcome="unknown", reason="send not confirmed", failed_at=NOW),
    ]
