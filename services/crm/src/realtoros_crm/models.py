"""Every table, imported in one place for Alembic and the mapper registry."""

from realtoros_crm.activities.models import Activity
from realtoros_crm.agents.models import Agent
from realtoros_crm.agents.tokens_models import LoginFailure, RefreshToken
from realtoros_crm.clients.models import Client
from realtoros_crm.customfields.models import CustomField
from realtoros_crm.db import Base
from realtoros_crm.email_templates.models import EmailTemplate
from realtoros_crm.emails.models import Email
from realtoros_crm.imports.models import ClientImport
from realtoros_crm.lists.models import SavedList
from realtoros_crm.messaging.models import InboxEntry, OutboxMessage
from realtoros_crm.plans.models import Plan, PlanRun, PlanStep
from realtoros_crm.tasks.models import Task

__all__ = [
    "Activity",
    "Agent",
    "Base",
    "Client",
    "ClientImport",
    "CustomField",
    "Email",
    "EmailTemplate",
    "InboxEntry",
    "LoginFailure",
    "OutboxMessage",
    "Plan",
    "PlanRun",
    "PlanStep",
    "RefreshToken",
    "SavedList",
    "Task",
]
