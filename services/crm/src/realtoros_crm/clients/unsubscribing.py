"""The one way a client is unsubscribed, whatever asked for it: the link in an email, a
mail client's one-click POST, the agent, a hard bounce, a spam complaint (and a reply
saying "stop"). Flushes nothing: the caller's transaction commits it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_contracts import ClientUnsubscribed, Namespace
from realtoros_contracts.events import UnsubscribeSource
from realtoros_crm.activities.service import record_activity
from realtoros_crm.clients.models import Client
from realtoros_crm.messaging.outbox import add_to_outbox


def unsubscribe_client(
    session: AsyncSession,
    ns: Namespace,
    client: Client,
    *,
    source: UnsubscribeSource,
    summary: str,
    at: datetime,
    now: datetime,
    email_id: uuid.UUID | None = None,
    address: str | None = None,
) -> bool:
    """Mark ``client`` unsubscribed, note it on the timeline (``summary``, at ``at``) and
    write ClientUnsubscribed to the outbox, in the caller's transaction. The caller holds
    the client's row lock (``SELECT … FOR UPDATE``) so two requests do not both record it.

    ``address`` is what the mailer suppresses (default: the client's email); a phone-only
    client without one is unsubscribed with no event (nothing to suppress).

    Returns whether the client was unsubscribed now: False when already unsubscribed
    (nothing to do: an opt-out never fails). Each unsubscription is its own event with its
    own id, so a client who is re-subscribed by the agent and unsubscribes again gets a
    second event (the id of the first is still in the outbox's unique index). Inputs that
    are redelivered (a bounce, a reply) are made idempotent by the caller's inbox, not by
    this id.
    """
    if client.unsubscribed:
        return False
    client.unsubscribed, client.updated_at = True, now
    record_activity(
        session,
        agent_id=client.agent_id,
        client_id=client.id,
        kind="unsubscribed",
        summary=summary,
        occurred_at=at,
        email_id=email_id,
    )
    if not (address := address or client.email):
        return True
    event = ClientUnsubscribed(
        agent_id=client.agent_id,
        client_id=client.id,
        email=address,
        source=source,
        unsubscribed_at=at,
    )
    event_id = f"unsubscribed:{client.id}:{uuid.uuid4().hex}"
    add_to_outbox(session, ns, event, event_id=event_id, now=now)
    return True
