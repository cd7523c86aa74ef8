"""CSV import (POST /clients/import, GET /clients/imports/{id}) and export
(GET /clients/export.csv). Included before the clients router: ``/clients/export.csv``
must not be taken for a client id."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

from fastapi import (
    APIRouter,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import problem_responses
from realtoros_crm.clients.listing import ClientFilter
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.imports.export import export_rows
from realtoros_crm.imports.jobs import ImportJobs
from realtoros_crm.imports.mapping import FIELD_PREFIX, TARGETS, auto_mapping
from realtoros_crm.imports.models import ClientImport
from realtoros_crm.imports.rows import UnreadableFile, parse_csv
from realtoros_crm.imports.schemas import ImportPublic
from realtoros_crm.imports.service import file_digest, run_import

router = APIRouter(prefix="/clients", tags=["import and export"])

SYNC_ROWS = 1000
"""Files up to this many rows are imported within the request (201); larger ones in the
background (202), with progress at GET /clients/imports/{id}."""
_MAPPING = TypeAdapter(dict[str, str])


def _mapping(raw: str | None, headers: list[str], field_names: dict[str, str]) -> dict[str, str]:
    mapping = auto_mapping(headers, field_names)
    if raw:
        try:
            given = _MAPPING.validate_python(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"mapping must be a JSON object of CSV header → field: {exc}",
            ) from None
        allowed = set(TARGETS) | {FIELD_PREFIX + key for key in field_names}
        if wrong := sorted({t for t in given.values() if t not in allowed}):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"mapping has unknown fields {wrong[:10]}: use one of {sorted(allowed)}",
            )
        unknown = sorted(set(given) - set(headers))
        if unknown:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, f"mapping names unknown columns: {unknown}"
            )
        mapping = {h: t for h, t in mapping.items() if t not in given.values()} | given
    if "email" not in mapping.values() and "phone" not in mapping.values():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"no email or phone column among {headers[:30]}: map one with mapping",
        )
    return mapping


async def _read(file: UploadFile, limit: int) -> bytes:
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise HTTPException(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"the file is larger than {limit} bytes"
        )
    return content


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    responses={
        202: {"model": ImportPublic, "description": "Large file: importing in the background."},
        **problem_responses(413, 422),
    },
)
async def import_clients(
    request: Request,
    response: Response,
    agent: CurrentAgent,
    session: SessionDep,
    state: StateDep,
    hooks: StageHooksDep,
    file: Annotated[UploadFile, File(description="A CSV file with a header row.")],
    mapping: Annotated[
        str | None,
        Form(
            description='JSON: CSV header → field, e.g. {"E-mail": "email", "Misc": "ignore", '
            '"Birthday": "field:birthday"} (field:<key>: one of your custom fields, typed)'
        ),
    ] = None,
) -> ImportPublic:
    """Import clients from a CSV export (Follow Up Boss, kvCORE, LionDesk, Zillow …)."""
    settings = state.settings
    content = await _read(file, settings.import_max_bytes)
    try:
        parsed = await asyncio.to_thread(parse_csv, content, settings.import_max_rows)
    except UnreadableFile as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    field_names = {f.key: f.label for f in await list_fields(session, agent.id)}
    columns = _mapping(mapping, parsed.headers, field_names)
    job = ClientImport(
        id=uuid.uuid4(),
        agent_id=agent.id,
        filename=(file.filename or "upload.csv")[:255],
        file_sha256=file_digest(content),
        status="queued",
        total=len(parsed.rows),
        processed=0,
        imported=0,
        skipped=0,
        mapping=columns,
        report={},
        created_at=state.clock(),
    )
    session.add(job)
    await session.commit()
    work = run_import(state.sessions, job.id, parsed, columns, hooks, state.clock)
    if len(parsed.rows) > SYNC_ROWS:
        ImportJobs.of(request.app).start(work)
        response.status_code = status.HTTP_202_ACCEPTED
    else:
        await work
    response.headers["Location"] = f"/clients/imports/{job.id}"
    await session.refresh(job)
    return ImportPublic.model_validate(job)


@router.get("/imports/{import_id}", responses=problem_responses(404))
async def read_import(
    import_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> ImportPublic:
    """An import's progress (processed of total) and, when done, its report."""
    job = await session.get(ClientImport, import_id)
    if job is None or job.agent_id != agent.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"import {import_id} not found")
    return ImportPublic.model_validate(job)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The clients as CSV."}},
)
async def export_clients(
    agent: CurrentAgent, state: StateDep, where: Annotated[ClientFilter, Query()]
) -> StreamingResponse:
    """The agent's clients (filtered like the list) as CSV, streamed."""
    return StreamingResponse(
        export_rows(state.sessions, agent.id, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="clients.csv"'},
    )
