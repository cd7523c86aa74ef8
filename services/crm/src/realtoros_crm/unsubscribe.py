"""The unsubscribe link of every email: a page that asks, and the one-click POST (RFC 8058)
that records it. The signed token is the only credential.

A GET never changes anything (mail scanners and link previews follow links). The POST
marks the client unsubscribed and writes ``ClientUnsubscribed`` to the outbox in the same
transaction (``clients.unsubscribing``), once: a second POST finds the client already
unsubscribed and emits nothing; after the agent re-subscribes the client, the link works
again and records a new unsubscription.
"""

from __future__ import annotations

import html
import logging
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients import unsubscribing
from realtoros_crm.clients.models import Client
from realtoros_crm.unsubscribe_tokens import verify_unsubscribe

log = logging.getLogger(__name__)

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])

_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><body style="font-family:sans-serif;max-width:32em;margin:4em auto">
<h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body))


ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
BODY_LIMIT = 4096


async def _source(request: Request) -> Literal["link", "one-click"]:
    """RFC 8058: a mail client's one-click POST carries exactly this form body; the page's
    button posts an empty form."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            break
    return "one-click" if body.strip() == ONE_CLICK_BODY else "link"


def _invalid() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "this unsubscribe link is not valid")


@router.get("/{token}", response_class=HTMLResponse)
async def show_unsubscribe_page(token: str, state: StateDep) -> HTMLResponse:
    """Ask the recipient to confirm (a GET changes nothing: mail scanners follow links)."""
    if verify_unsubscribe(token, state.settings.unsubscribe_key()) is None:
        raise _invalid()
    form = (
        f'<form method="post" action="/unsubscribe/{html.escape(token)}">'
        "<p>Stop receiving follow-up emails from your agent?</p>"
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", form)


@router.post("/{token}", response_class=HTMLResponse)
async def unsubscribe_client(
    token: str, request: Request, session: SessionDep, state: StateDep
) -> HTMLResponse:
    """Unsubscribe the client the token was signed for; pending follow-ups are then skipped
    and the mailer adds the address to its suppression set (ClientUnsubscribed)."""
    client_id = verify_unsubscribe(token, state.settings.unsubscribe_key())
    if client_id is None:
        raise _invalid()
    query = select(Client).where(Client.id == client_id).with_for_update()
    client = (await session.scalars(query)).one_or_none()
    if client is None:
        raise _invalid()
    now, source = state.clock(), await _source(request)
    summary = "The client unsubscribed from follow-up emails."
    recorded = unsubscribing.unsubscribe_client(
        session, state.bus.ns, client, source=source, summary=summary, at=now, now=now
    )
    if recorded:
        log.info("client %s unsubscribed (%s)", client.id, source)
    return _page("Unsubscribed", "<p>You will not receive further follow-up emails.</p>")
