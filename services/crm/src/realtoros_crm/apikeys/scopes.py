"""What an API key may do: its scopes, and the one table saying which scope each API route
needs. A route the table does not name (the account, sign-in, the keys themselves) is
never open to a key, so a leaked key cannot mint another or change the password."""

from __future__ import annotations

import re
from typing import Literal, get_args

Scope = Literal[
    "clients:read",
    "clients:write",
    "leads:write",
    "tasks:read",
    "tasks:write",
    "emails:read",
    "emails:write",
    "plans:read",
    "plans:write",
    "events:read",
    "webhooks:manage",
]
SCOPES: tuple[str, ...] = get_args(Scope)
SCOPE_LABELS = {
    "clients:read": "Read clients (names, contact details, notes), custom fields and saved lists",
    "clients:write": "Add, change and delete clients, custom fields and saved lists; import",
    "leads:write": "Post leads (safe to put in a public web form: it can do nothing else)",
    "tasks:read": "Read tasks",
    "tasks:write": "Add, change and complete tasks",
    "emails:read": "Read emails, drafts, replies and email templates",
    "emails:write": "Edit, approve and skip drafts; mark replies answered; change email templates",
    "plans:read": "Read follow-up plans",
    "plans:write": "Change plans; put clients on plans",
    "events:read": "Read timelines and activity; receive webhooks",
    "webhooks:manage": "Subscribe and manage webhook endpoints",
}
assert set(SCOPE_LABELS) == set(SCOPES)

# (route path pattern, scope for GET/HEAD, scope for everything else); first match wins.
_ROUTE_SCOPES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), read, write)
    for pattern, read, write in (
        (r"^/clients/\{client_id\}/timeline$", "events:read", "events:read"),
        (r"^/clients/\{client_id\}/drafts", "emails:read", "emails:write"),
        (r"^/clients/\{client_id\}/plans", "plans:read", "plans:write"),
        (r"^/clients(/|$)", "clients:read", "clients:write"),
        (r"^/(custom-fields|lists)(/|$)", "clients:read", "clients:write"),
        (r"^/email-templates(/|$)", "emails:read", "emails:write"),
        (r"^/tasks/\{task_id\}/draft", "emails:read", "emails:write"),
        (r"^/tasks(/|$)", "tasks:read", "tasks:write"),
        (r"^/emails/", "emails:read", "emails:write"),
        (r"^/replies(/|$)", "emails:read", "emails:write"),
        (r"^/(plans|plan-runs)(/|$)", "plans:read", "plans:write"),
        (r"^/activity$", "events:read", "events:read"),
        (r"^/dashboard$", "clients:read", "clients:read"),
        (r"^/webhooks(/|$)", "webhooks:manage", "webhooks:manage"),
        (r"^/leads$", "leads:write", "leads:write"),
    )
)


def required_scope(method: str, route_path: str) -> str | None:
    """The scope a key needs for this route (its path template), or None: not with a key."""
    for pattern, read, write in _ROUTE_SCOPES:
        if pattern.search(route_path):
            return read if method.upper() in ("GET", "HEAD") else write
    return None
