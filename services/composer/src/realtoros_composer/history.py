"""What the client's recent timeline says about past contact: the last email sent, whether
it was opened, and whether the agent has actually spoken with the client. The prompt
states these so the model does not have to guess them, and the templates use them so a
template never refers to a conversation that did not happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from realtoros_contracts import TaskDue

CONVERSATION_KINDS = ("call", "meeting", "conversation", "showing", "reply", "replied", "visit")


@dataclass(frozen=True)
class History:
    last_sent: datetime | None
    last_opened: bool
    days_since_sent: int | None
    conversation: bool


def history_of(task: TaskDue) -> History:
    entries = sorted(task.timeline, key=lambda e: e.at)
    sent = [e for e in entries if "sent" in e.kind.lower()]
    last_sent = sent[-1].at if sent else None
    opened = last_sent is not None and any(
        "open" in e.kind.lower() and e.at >= last_sent for e in entries
    )
    conversation = any(any(word in e.kind.lower() for word in CONVERSATION_KINDS) for e in entries)
    days = (task.due_at - last_sent).days if last_sent is not None else None
    return History(last_sent, opened, days, conversation)
