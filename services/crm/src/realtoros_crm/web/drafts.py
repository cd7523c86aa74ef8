"""Drafts: the list awaiting the agent, and one draft to read, edit, regenerate, approve or
skip. A draft still being written is shown as such; the page polls ``…/state`` and fills
in the text when the composer is done (no reload)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from realtoros_contracts.rendering import missing_sender_details, text_body
from realtoros_crm.agents.models import Agent
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.models import Client
from realtoros_crm.clients.service import client_names, get_client
from realtoros_crm.emails.drafts import (
    DraftConflict,
    HeldDraft,
    approve_draft,
    edit_draft,
    email_delivery,
    regenerate_draft,
    window_opens,
)
from realtoros_crm.emails.schemas import DraftEdit, DraftInstructions
from realtoros_crm.plans.runs import client_window
from realtoros_crm.state import CrmState
from realtoros_crm.tasks.actions import TaskConflict, finish_task
from realtoros_crm.tasks.models import Task
from realtoros_crm.tasks.service import TaskFilter, get_task, list_tasks
from realtoros_crm.web import PageNotFound, found
from realtoros_crm.web.render import field_errors, local, page, redirect, window_note
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/drafts")
Text = Annotated[str, Form()]


async def _task(
    session: SessionDep, agent_id: uuid.UUID, task_id: uuid.UUID, lock: bool = False
) -> Task:
    return found(await get_task(session, agent_id, task_id, lock=lock), "draft")


def draft_state(task: Task, final: dict[str, Any] | None = None) -> dict[str, Any]:
    email = task.email
    return {
        "final": final,
        "task_status": task.status,
        "status": email.status if email else task.status,
        "subject": email.subject if email else None,
        "body_text": email.body_text if email else None,
        "needs_review": bool(email and email.needs_review),
        "review_reasons": list(email.review_reasons) if email else [],
        "failure_reason": (email.failure_reason if email else None) or task.failure_reason,
        "email_id": str(email.id) if email else None,
        "held_at": email.held_at.isoformat() if email and email.held_at else None,
    }


def final_email(
    task: Task, client: Client | None, agent: Agent, state: CrmState
) -> dict[str, Any] | None:
    """The email exactly as the client will receive it: the same rendering the mailer
    sends (signature, postal address, unsubscribe footer), over the saved text."""
    email = task.email
    if email is None or client is None or not email.body_text:
        return None
    delivery = email_delivery(state.claim_context, client, agent)
    return {
        "from": f"{delivery.from_name} (replies go to {delivery.reply_to})",
        "to": f"{delivery.to_name} <{delivery.to_email}>",
        "subject": email.subject or "",
        "text": text_body(email.body_text, delivery),
        "missing": missing_sender_details(delivery),
    }


@router.get("")
async def drafts(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    tasks = await list_tasks(
        session,
        agent.id,
        TaskFilter(statuses=["awaiting_approval", "composing"]),
        now=state.clock(),
        zone=agent.timezone,
        limit=200,
        offset=0,
    )
    names = await client_names(session, agent.id, [t.client_id for t in tasks])
    return page(request, "drafts.html", tasks=tasks, names=names)


@router.get("/{task_id}")
async def draft(
    task_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    task = await _task(session, agent.id, task_id)
    client = await get_client(session, agent.id, task.client_id)
    shown = draft_state(task, final_email(task, client, agent, state))
    window = None  # a plan step approved now waits for the sending window: say until when
    if (
        task.status == "awaiting_approval"
        and client is not None
        and (opens := window_opens(task, client, agent, state.clock()))
    ):
        note = window_note(opens, client_window(client, agent), request)
        window = f"Approved now, it {note}."
    return page(
        request, "draft.html", task=task, client=client, state=shown, window=window, errors={}
    )


@router.get("/{task_id}/state")
async def draft_state_json(
    task_id: uuid.UUID, agent: WebAgent, session: SessionDep, state: StateDep
) -> JSONResponse:
    task = await _task(session, agent.id, task_id)
    client = await get_client(session, agent.id, task.client_id)
    shown = draft_state(task, final_email(task, client, agent, state))
    return JSONResponse(shown, headers={"Cache-Control": "no-store"})


@router.post("/{task_id}")
async def act(
    task_id: uuid.UUID,
    request: Request,
    agent: WebAgent,
    session: SessionDep,
    state: StateDep,
    action: Text = "save",
    subject: Text = "",
    body_text: Text = "",
    instructions: Text = "",
    send_anyway: Text = "",
) -> Response:
    """``save``, ``approve`` (saves the text first), ``regenerate`` or ``skip``. A draft
    held because the client replied is approved only with the ``send_anyway`` box ticked."""
    task = await _task(session, agent.id, task_id, lock=True)
    client = await get_client(session, agent.id, task.client_id)
    back, now, approved = f"/app/drafts/{task.id}", state.clock(), "Approved: sending now."
    try:
        if action in ("save", "approve"):
            edit = DraftEdit(subject=subject, body_text=body_text.replace("\r\n", "\n"))
            if task.email and (edit.subject, edit.body_text) != (
                task.email.subject,
                task.email.body_text,
            ):
                edit_draft(task, edit.subject, edit.body_text, now)
            if action == "approve":
                await approve_draft(
                    session, state.claim_context, task, now, send_anyway=send_anyway == "yes"
                )
                if client is not None and (opens := window_opens(task, client, agent, now)):
                    window = client_window(client, agent)
                    approved = f"Approved: it {window_note(opens, window, request)}."
        elif action == "regenerate":
            extra = DraftInstructions(instructions=instructions).instructions
            await regenerate_draft(session, state.claim_context, task, extra or None, now)
        elif action == "skip":
            await finish_task(session, task, "skip", now, ns=state.bus.ns)
        else:
            raise PageNotFound("action")
    except ValidationError as exc:  # raised before anything changed
        shown = {
            **draft_state(task, final_email(task, client, agent, state)),
            "subject": subject,
            "body_text": body_text,
        }
        return page(
            request,
            "draft.html",
            status_code=422,
            task=task,
            client=client,
            state=shown,
            errors=field_errors(exc),
        )
    except HeldDraft as exc:
        # Worded before the rollback, which expires the agent (their time zone).
        message = (
            f"Not sent: the client replied on {local(exc.held_at, request)}, after this draft "
            "was written. Read the reply on their page, then resume the plan, or tick "
            '"Send it anyway" and approve again.'
        )
        await session.rollback()
        return redirect(back, message, error=True)
    except (DraftConflict, TaskConflict) as exc:
        await session.rollback()
        return redirect(back, str(exc), error=True)
    message = {
        "save": "Draft saved.",
        "approve": approved,
        "regenerate": "The composer is rewriting the draft.",
        "skip": "Skipped: this follow-up will not be sent.",
    }[action]
    return redirect(back, message)
