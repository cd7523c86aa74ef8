"""Every router of the web app, in the order they are included."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from realtoros_crm.web import (
        auth,
        client_page,
        clients,
        dashboard,
        drafts,
        emails,
        imports,
        library,
        plans,
        profile,
        tasks,
        working_day,
    )

    return [
        auth.router,
        dashboard.router,
        imports.router,
        clients.router,
        client_page.router,
        drafts.router,
        working_day.router,
        library.router,
        tasks.router,
        emails.router,
        plans.router,
        profile.router,
    ]
