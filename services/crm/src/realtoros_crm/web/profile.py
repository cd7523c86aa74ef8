"""Profile and settings: signature, tone, time zone, sending window, send mode, replies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from realtoros_crm.agents.schemas import ProfileUpdate
from realtoros_crm.agents.service import EmailTaken, InvalidProfile, update_profile
from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.web.render import field_errors, page, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/settings")
TEXT_FIELDS = (
    "name",
    "email",
    "phone",
    "title",
    "brokerage",
    "signature",
    "tone",
    "postal_address",
    "timezone",
    "bio",
)
DAYS = ((1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun"))


def _values(agent: Any) -> dict[str, Any]:
    values = {k: getattr(agent, k) or "" for k in TEXT_FIELDS}
    values |= {
        "send_mode": agent.send_mode,
        "sending_days": list(agent.sending_days),
        "sending_start": agent.sending_start.strftime("%H:%M"),
        "sending_end": agent.sending_end.strftime("%H:%M"),
        "send_spread_minutes": agent.send_spread_minutes,
        "replies": "me" if agent.replies_to_me else "realtoros",
    }
    return values


@router.get("")
async def settings_form(request: Request, agent: WebAgent) -> Response:
    return page(request, "settings.html", values=_values(agent), errors={}, days=DAYS)


@router.post("")
async def save_settings(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep
) -> Response:
    form = await request.form()
    raw: dict[str, Any] = {k: (str(form.get(k) or "").strip() or None) for k in TEXT_FIELDS}
    raw["signature"] = str(form.get("signature") or "").replace("\r\n", "\n").strip() or None
    raw |= {
        "send_mode": form.get("send_mode"),
        "sending_days": [int(str(d)) for d in form.getlist("sending_days") if str(d).isdigit()],
        "sending_start": form.get("sending_start") or None,
        "sending_end": form.get("sending_end") or None,
        "send_spread_minutes": form.get("send_spread_minutes") or 0,
        "replies_to_me": form.get("replies") == "me",
    }
    try:
        await update_profile(session, agent, ProfileUpdate.model_validate(raw), state.clock())
    except (ValidationError, EmailTaken, InvalidProfile) as exc:
        await session.rollback()
        await session.refresh(agent)  # the page shows the agent as saved, not as typed
        errors = (
            field_errors(exc)
            if isinstance(exc, ValidationError)
            else {"email": "Another account uses this email address."}
            if isinstance(exc, EmailTaken)
            else {"sending_end": str(exc).replace("_", " ")}
        )
        shown = {**raw, "replies": "me" if raw["replies_to_me"] else "realtoros"}
        return page(
            request,
            "settings.html",
            status_code=422,
            values=shown,
            errors=errors,
            days=DAYS,
        )
    await session.commit()
    return redirect("/app/settings", "Settings saved.")
