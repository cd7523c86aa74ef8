"""The timeline's statements under their former home (activities/repository.py): kept for
the callers outside the CRM core (clients, web, demo) until they import the repository."""

from realtoros_crm.activities.repository import (
    SUMMARY_LIMIT,
    client_timeline,
    email_history,
    record_activity,
)

__all__ = ["SUMMARY_LIMIT", "client_timeline", "email_history", "record_activity"]
