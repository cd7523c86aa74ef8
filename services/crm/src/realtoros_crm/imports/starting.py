"""Starting a CSV import, for the API (``POST /clients/import``) and the import page alike:
the file read within its limit, the column mapping and stage names checked, the job row
written, then the import run (within the request, or in the background when large)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from realtoros_crm.clients.models import STAGES, Stage
from realtoros_crm.clients.stages import StageHooks
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.db import add_row
from realtoros_crm.imports.mapping import FIELD_PREFIX, TARGETS, auto_mapping
from realtoros_crm.imports.models import ClientImport
from realtoros_crm.imports.rows import UnreadableFile, parse_csv
from realtoros_crm.imports.service import file_digest, run_import
from realtoros_crm.state import CrmState

SYNC_ROWS = 1000
"""Files up to this many rows are imported within the request (201); larger ones in the
background (202), with progress at GET /clients/imports/{id}."""
_MAPPING = TypeAdapter(dict[str, str])
_STAGES = TypeAdapter(dict[Annotated[str, StringConstraints(max_length=200)], Stage])


class ImportRefused(Exception):
    """The file or the choices are not importable; ``status`` is the HTTP answer."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def parse_stages(raw: str | None) -> dict[str, str]:
    """The agent's names for the file's stage values (the rest are recognised or reported)."""
    if not raw:
        return {}
    try:
        return dict(_STAGES.validate_python(json.loads(raw)))
    except (ValueError, ValidationError) as exc:
        raise ImportRefused(
            f"stages must be a JSON object of the file's stage → one of {', '.join(STAGES)}: {exc}"
        ) from None


def _given_mapping(raw: str, headers: list[str], field_names: dict[str, str]) -> dict[str, str]:
    try:
        given = _MAPPING.validate_python(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise ImportRefused(f"mapping must be a JSON object of CSV header → field: {exc}") from None
    allowed = set(TARGETS) | {FIELD_PREFIX + key for key in field_names}
    if wrong := sorted({t for t in given.values() if t not in allowed}):
        raise ImportRefused(
            f"mapping has unknown fields {wrong[:10]}: use one of {sorted(allowed)}"
        )
    if unknown := sorted(set(given) - set(headers)):
        raise ImportRefused(f"mapping names unknown columns: {unknown}")
    return given


def choose_mapping(
    raw: str | None, headers: list[str], field_names: dict[str, str]
) -> dict[str, str]:
    """The suggested mapping of ``headers``, overridden by the agent's (JSON) ``raw``."""
    mapping = auto_mapping(headers, field_names)
    if raw:
        given = _given_mapping(raw, headers, field_names)
        mapping = {h: t for h, t in mapping.items() if t not in given.values()} | given
    if "email" not in mapping.values() and "phone" not in mapping.values():
        raise ImportRefused(f"no email or phone column among {headers[:30]}: map one with mapping")
    return mapping


async def read_upload(file: UploadFile, limit: int) -> bytes:
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise ImportRefused(f"the file is larger than {limit} bytes", status=413)
    return content


async def start_import(
    session: AsyncSession,
    state: CrmState,
    agent_id: uuid.UUID,
    file: UploadFile,
    hooks: StageHooks,
    *,
    mapping: str | None,
    stages: str | None,
) -> tuple[ClientImport, bool]:
    """The import's job, and whether it runs in the background (a large file)."""
    settings = state.settings
    content = await read_upload(file, settings.import_max_bytes)
    try:
        parsed = await asyncio.to_thread(parse_csv, content, settings.import_max_rows)
    except UnreadableFile as exc:
        raise ImportRefused(str(exc)) from None
    field_names = {f.key: f.label for f in await list_fields(session, agent_id)}
    columns = choose_mapping(mapping, parsed.headers, field_names)
    stage_names = parse_stages(stages)
    job = ClientImport(
        id=uuid.uuid4(),
        agent_id=agent_id,
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
    await add_row(session, job)
    # Committed now, not by the entrypoint: the import runs in sessions of its own (in the
    # background when large), which update this row batch by batch.
    await session.commit()
    work = run_import(state.sessions, job.id, parsed, columns, hooks, state.clock, stage_names)
    background = len(parsed.rows) > SYNC_ROWS
    if background:
        state.imports.start(work)
    else:
        await work
    await session.refresh(job)
    return job, background
