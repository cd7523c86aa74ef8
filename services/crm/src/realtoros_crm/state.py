"""What the running CRM process holds, built by the composition root's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from realtoros_crm.claims.taskdue import ClaimContext
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.emails.reconciler import Reconciler
from realtoros_crm.messaging.pruning import Pruner
from realtoros_crm.messaging.relay import OutboxRelay
from realtoros_crm.settings import CrmSettings
from realtoros_crm.webhooks.dispatcher import WebhookDispatcher
from realtoros_runtime.worker import Bus


@dataclass
class CrmState:
    settings: CrmSettings
    clock: Clock
    engine: AsyncEngine
    sessions: Sessions
    bus: Bus
    relay: OutboxRelay
    webhooks: WebhookDispatcher
    pruner: Pruner
    reconciler: Reconciler
    claims: ClaimContext
    """What a TaskDue, a draft request and an approval need from the deployment."""
