"""What the running CRM process holds, built by the composition root's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from realtoros_crm.api.problems import OutagePage
from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clients.stages import StageHook
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.emails.reconciler import Reconciler
from realtoros_crm.imports.jobs import ImportJobs
from realtoros_crm.messaging.pruning import Pruner
from realtoros_crm.messaging.relay import OutboxRelay
from realtoros_crm.settings import CrmSettings
from realtoros_crm.webhooks.dispatcher import WebhookDispatcher
from realtoros_runtime.bus import Bus


@dataclass
class CrmState:
    """``app.state.crm``: the one place the process keeps what it built (nothing else is
    hung on ``app.state``)."""

    settings: CrmSettings
    clock: Clock
    engine: AsyncEngine
    sessions: Sessions
    bus: Bus
    relay: OutboxRelay
    webhooks: WebhookDispatcher
    pruner: Pruner
    reconciler: Reconciler
    claim_context: ClaimContext
    """What building a TaskDue needs (the namespace, the unsubscribe links' base and key)."""
    stage_hooks: list[StageHook] = field(default_factory=list)
    """What runs when a client enters a stage (``clients/stages.py``)."""
    imports: ImportJobs = field(default_factory=ImportJobs)
    """The imports running in the background."""
    outage_pages: dict[str, OutagePage] = field(default_factory=dict)
    """Requests under a prefix get its page instead of the problem document while the
    database is unreachable."""
