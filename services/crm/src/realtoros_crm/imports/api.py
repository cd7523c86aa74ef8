"""CSV import (POST /clients/import, GET /clients/imports/{id}) and export
(GET /clients/export.csv). Included before the clients router: ``/clients/export.csv``
must not be taken for a client id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from realtoros_crm.api.deps import CurrentAgent, SessionDep, StateDep
from realtoros_crm.api.problems import found, problem_responses
from realtoros_crm.clients.listing import ClientFilter
from realtoros_crm.clients.stages import StageHooksDep
from realtoros_crm.imports.export import export_rows
from realtoros_crm.imports.repository import get_import
from realtoros_crm.imports.schemas import ImportPublic
from realtoros_crm.imports.starting import ImportRefused, start_import

router = APIRouter(prefix="/clients", tags=["import and export"])


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    responses={
        202: {"model": ImportPublic, "description": "Large file: importing in the background."},
        **problem_responses(413, 422),
    },
)
async def import_clients(
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
    stages: Annotated[
        str | None,
        Form(
            description="JSON: the file's stage names → ours, e.g. "
            '{"Warm": "prospect"}. A stage neither recognised nor mapped skips its row, '
            "with the reason in the report (report.unknown_stages counts them)."
        ),
    ] = None,
) -> ImportPublic:
    """Import clients from a CSV export (Follow Up Boss, kvCORE, LionDesk, Zillow …)."""
    try:
        job, background = await start_import(
            session, state, agent.id, file, hooks, mapping=mapping, stages=stages
        )
    except ImportRefused as exc:
        raise HTTPException(exc.status, exc.detail) from None
    if background:
        response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/clients/imports/{job.id}"
    return ImportPublic.model_validate(job)


@router.get("/imports/{import_id}", responses=problem_responses(404))
async def read_import(
    import_id: uuid.UUID, agent: CurrentAgent, session: SessionDep
) -> ImportPublic:
    """An import's progress (processed of total) and, when done, its report."""
    job = found(await get_import(session, agent.id, import_id), "import", import_id)
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
