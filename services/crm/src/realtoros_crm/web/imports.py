"""Import: upload a CSV, map its columns (suggested from the headers), watch the progress,
read the report. The upload starts the import as the API does (``imports/starting.py``)."""

from __future__ import annotations

import asyncio
import json
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile as FormFile

from realtoros_crm.api.deps import SessionDep, StateDep
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.imports.mapping import FIELD_PREFIX, TARGETS, auto_mapping
from realtoros_crm.imports.repository import get_import
from realtoros_crm.imports.rows import UnreadableFile, parse_csv
from realtoros_crm.imports.schemas import ImportPublic
from realtoros_crm.imports.starting import ImportRefused, start_import
from realtoros_crm.web import found
from realtoros_crm.web.render import page, redirect
from realtoros_crm.web.session import WebAgent

router = APIRouter(prefix="/app/import")
TARGET_WORDS = {
    "birthday": "birthday (text field “Birthday”)",
    "custom": "custom field (named after the column)",
    "ignore": "ignore (leave out)",
}
PREVIEW_BYTES = 256 * 1024


async def _targets(session: SessionDep, agent_id: uuid.UUID) -> list[tuple[str, str]]:
    """The mapping's choices: the client's fields, then the agent's custom fields."""
    fields = [(t, TARGET_WORDS.get(t, t.replace("_", " "))) for t in TARGETS]
    custom = await list_fields(session, agent_id)
    return fields + [(FIELD_PREFIX + f.key, f"{f.label} ({f.field_type})") for f in custom]


@router.get("")
async def import_form(request: Request, agent: WebAgent, session: SessionDep) -> Response:
    targets = await _targets(session, agent.id)
    return page(request, "import.html", error=None, targets=targets)


@router.post("/columns")
async def columns(request: Request, agent: WebAgent, session: SessionDep) -> JSONResponse:
    """The file's headers and the suggested field of each (the page builds the mapping)."""
    upload = (await request.form()).get("file")
    if not isinstance(upload, FormFile):
        return JSONResponse({"error": "choose a CSV file"}, status_code=422)
    head = await upload.read(PREVIEW_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head
    try:
        parsed = await asyncio.to_thread(parse_csv, head, 50)
    except UnreadableFile as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    names = {f.key: f.label for f in await list_fields(session, agent.id)}
    mapping = auto_mapping(parsed.headers, names)
    return JSONResponse(
        {
            "headers": parsed.headers,
            "mapping": {h: mapping.get(h, "ignore") for h in parsed.headers},
        }
    )


@router.post("")
async def upload(
    request: Request, agent: WebAgent, session: SessionDep, state: StateDep, hooks: StageHooksDep
) -> Response:
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, FormFile) or not file.filename:
        return page(
            request,
            "import.html",
            status_code=422,
            error="Choose a CSV file to import.",
            targets=await _targets(session, agent.id),
        )
    chosen = {k[4:]: str(v) for k, v in form.multi_items() if k.startswith("map:") and v}
    mapping = json.dumps(chosen) if chosen else None
    stages = stage_names(str(form.get("stages") or ""))
    try:
        job, _ = await start_import(
            session,
            state,
            agent.id,
            file,
            hooks,
            mapping=mapping,
            stages=json.dumps(stages) if stages else None,
        )
    except ImportRefused as exc:
        return page(
            request,
            "import.html",
            status_code=exc.status,
            error=f"The file was not imported: {exc.detail}",
            targets=await _targets(session, agent.id),
        )
    return redirect(f"/app/import/{job.id}")


def stage_names(lines: str) -> dict[str, str]:
    """ "Warm = prospect" lines (the page's stage names box) → the API's ``stages``; the
    API says what is wrong with a stage that is not one of ours."""
    pairs = (line.rsplit("=", 1) for line in lines.splitlines() if "=" in line)
    return {name.strip(): stage.strip().replace(" ", "_") for name, stage in pairs}


async def _job(session: SessionDep, agent_id: uuid.UUID, import_id: uuid.UUID) -> ImportPublic:
    job = found(await get_import(session, agent_id, import_id), "import")
    return ImportPublic.model_validate(job)


@router.get("/{import_id}")
async def report(
    import_id: uuid.UUID, request: Request, agent: WebAgent, session: SessionDep
) -> Response:
    job = await _job(session, agent.id, import_id)
    # A duplicate row that was skipped is listed once, under skipped rows; only the rows
    # imported anyway (same phone, another email) are "possible duplicates".
    skipped = {entry.get("row") for entry in job.report.get("skipped", [])}
    kept = [d for d in job.report.get("duplicates", []) if d.get("row") not in skipped]
    return page(request, "import_report.html", job=job, kept_duplicates=kept)


@router.get("/{import_id}/state")
async def progress(import_id: uuid.UUID, agent: WebAgent, session: SessionDep) -> JSONResponse:
    job = await _job(session, agent.id, import_id)
    return JSONResponse(
        job.model_dump(mode="json", include={"status", "processed", "total"}),
        headers={"Cache-Control": "no-store"},
    )
