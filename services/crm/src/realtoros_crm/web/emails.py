"""Emails: the list with filters, and one email with its event history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from realtoros_crm.activities.service import email_history
from realtoros_crm.api.deps import SessionDep
from realtoros_crm.clients.service import client_name, client_names
from realtoros_crm.emails.listing import EmailFilter, get_email, list_emails
from realtoros_crm.emails.models import EMAIL_STATUSES
from realtoros_crm.web import found
from realtoros_crm.web.render import page
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/emails")
PAGE_SIZE = 50


@router.get("")
async def email_list(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    params = request.query_params
    where = EmailFilter(
        statuses=[s for s in params.getlist("status") if s in EMAIL_STATUSES],
        q=(params.get("q") or "")[:200] or None,
    )
    try:
        offset = max(0, min(int(params.get("offset") or 0), 1_000_000))
    except ValueError:
        offset = 0
    emails = await list_emails(session, agent.id, where, limit=PAGE_SIZE + 1, offset=offset)
    names = await client_names(session, agent.id, [e.client_id for e in emails])
    return page(
        request,
        "emails.html",
        emails=emails[:PAGE_SIZE],
        names=names,
        where=where,
        statuses=EMAIL_STATUSES,
        offset=offset,
        more=len(emails) > PAGE_SIZE,
        page_size=PAGE_SIZE,
    )


@router.get("/{email_id}")
async def email_page(
    email_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    email = found(await get_email(session, agent.id, email_id), "email")
    return page(
        request,
        "email.html",
        email=email,
        client_name=await client_name(session, agent.id, email.client_id),
        history=await email_history(session, agent.id, email.id),
    )
