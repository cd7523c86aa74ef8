"""Running a CSV import: rows checked batch by batch, duplicates by normalised email
(skipped: that makes a second import of the same file a no-op) or phone (imported,
reported), then batches written with COPY, progress committed after each batch."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients import repository as clients_repository
from realtoros_crm.clients.repository import copy_clients, lock_agent_clients
from realtoros_crm.clients.schemas import ClientCreate
from realtoros_crm.clients.service import email_key, phone_digits, stage_label
from realtoros_crm.clients.stages import StageChange, StageHooks
from realtoros_crm.clock import Clock
from realtoros_crm.customfields.models import CustomField
from realtoros_crm.customfields.service import list_fields
from realtoros_crm.db import Sessions, copy_rows
from realtoros_crm.imports.models import ClientImport
from realtoros_crm.imports.repository import import_agent, lock_import
from realtoros_crm.imports.rows import Checked, Parsed, check_rows

log = logging.getLogger(__name__)

BATCH = 2000
REPORT_LIMIT = 1000
"""Entries kept of each list of the report; the counts are always complete."""
ACTIVITY_COLUMNS = ["id", "agent_id", "client_id", "kind", "summary", "occurred_at"]


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Progress:
    imported: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    seen_emails: dict[str, int] = field(default_factory=dict)
    seen_phones: dict[str, int] = field(default_factory=dict)
    skipped_count: int = 0
    duplicate_count: int = 0
    unknown_stages: dict[str, int] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    """The agent's mapping of the file's stage names, as given."""

    def skip(self, entry: dict[str, Any]) -> None:
        self.skipped_count += 1
        if len(self.skipped) < REPORT_LIMIT:
            self.skipped.append(entry)

    def duplicate(self, entry: dict[str, Any]) -> None:
        self.duplicate_count += 1
        if len(self.duplicates) < REPORT_LIMIT:
            self.duplicates.append(entry)

    def add(self, checked: Checked) -> None:
        for entry in checked.skipped:
            self.skip(entry)
        for stage, count in checked.unknown_stages.items():
            self.unknown_stages[stage] = self.unknown_stages.get(stage, 0) + count

    def report(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "duplicate_count": self.duplicate_count,
            "unknown_stages": dict(list(self.unknown_stages.items())[:REPORT_LIMIT]),
            "stages": self.stages,
        }


async def existing_matches(
    session: AsyncSession, agent_id: uuid.UUID, batch: Sequence[tuple[int, ClientCreate]]
) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """The agent's clients with the batch's email keys, and with its phone digits."""
    emails = list({email_key(c.email) for _, c in batch if c.email})
    phones = list({d for _, c in batch if len(d := phone_digits(c.phone)) >= 7})
    return await clients_repository.existing_matches(session, agent_id, emails, phones)


def _record(agent_id: uuid.UUID, client: ClientCreate, now: datetime) -> tuple[Any, ...]:
    """The row of ``CLIENT_COLUMNS`` (read off the model: ``model_dump`` per row was a
    tenth of an import's CPU)."""
    c = client
    return (
        uuid.uuid4(), agent_id, c.name, c.email, c.phone, c.stage, c.property_address,
        c.property_type, c.source, c.tags, c.notes, json.dumps(c.custom_fields), c.timezone,
        False, now, now,
    )  # fmt: skip


def admit_row(
    progress: Progress,
    number: int,
    client: ClientCreate,
    by_email: dict[str, uuid.UUID],
    by_phone: dict[str, uuid.UUID],
) -> bool:
    """Whether the row is imported; records why not, and phone duplicates."""
    key, digits = email_key(client.email), phone_digits(client.phone)
    if key and (key in by_email or key in progress.seen_emails):
        match: dict[str, Any] = {"client_id": str(by_email[key])} if key in by_email else {}
        if key in progress.seen_emails:
            match = {"same_as_row": progress.seen_emails[key]}
        progress.duplicate({"row": number, "email": client.email, "matched_on": "email", **match})
        reason = (
            f"same email address as row {progress.seen_emails[key]}"
            if key in progress.seen_emails
            else "already a client (same email address)"
        )
        progress.skip({"row": number, "reason": reason})
        return False
    if key:
        progress.seen_emails[key] = number
    if len(digits) >= 7 and (digits in by_phone or digits in progress.seen_phones):
        match = {"client_id": str(by_phone[digits])} if digits in by_phone else {}
        if digits in progress.seen_phones:
            match = {"same_as_row": progress.seen_phones[digits]}
        progress.duplicate({"row": number, "email": client.email, "matched_on": "phone", **match})
        if not key:  # a phone-only row: its phone is all that tells it apart (re-imports)
            reason = "already a client (same phone, and no email address to tell them apart)"
            progress.skip({"row": number, "reason": reason})
            return False
    if len(digits) >= 7:
        progress.seen_phones.setdefault(digits, number)
    return True


async def _write_batch(
    session: AsyncSession,
    job: ClientImport,
    batch: Sequence[tuple[int, ClientCreate]],
    progress: Progress,
    now: datetime,
) -> list[StageChange]:
    await lock_agent_clients(session, job.agent_id)
    by_email, by_phone = await existing_matches(session, job.agent_id, batch)
    records = [
        _record(job.agent_id, client, now)
        for number, client in batch
        if admit_row(progress, number, client, by_email, by_phone)
    ]
    summary = f"Imported from {job.filename}"
    activities = [
        (
            uuid.uuid4(),
            job.agent_id,
            r[0],
            "client_created",
            f"{summary} as a {stage_label(r[5])}",
            now,
        )
        for r in records
    ]
    if records:
        await copy_clients(session, records)
        await copy_rows(session, "activities", ACTIVITY_COLUMNS, activities)
    progress.imported += len(records)
    return [StageChange(job.agent_id, r[0], None, r[5], now) for r in records]


async def run_import(
    sessions: Sessions,
    job_id: uuid.UUID,
    parsed: Parsed,
    mapping: dict[str, str],
    hooks: StageHooks,
    clock: Clock,
    stages: dict[str, str] | None = None,
) -> None:
    """Check and write the rows of the job in batches; the job row shows the progress.
    Each batch is checked in a thread while the one before is written (validation is most
    of the CPU an import takes, writing mostly waits for PostgreSQL)."""
    progress = Progress(stages=dict(stages or {}))
    async with sessions() as session:
        agent_id = await import_agent(session, job_id)
        fields = {field.key: field for field in await list_fields(session, agent_id)}
    starts = range(0, len(parsed.rows), BATCH)
    checking = [_check(parsed, mapping, start, fields, progress.stages) for start in starts[:1]]
    try:
        for start in starts:
            checked = await checking.pop()
            if start + BATCH < len(parsed.rows):
                checking.append(_check(parsed, mapping, start + BATCH, fields, progress.stages))
            progress.add(checked)
            async with sessions() as session:
                job = await lock_import(session, job_id)
                job.status = "running"
                changes = await _write_batch(session, job, checked.valid, progress, clock())
                await hooks.notify(session, changes)
                job.processed = min(start + BATCH, len(parsed.rows))
                job.imported, job.skipped = progress.imported, progress.skipped_count
                await session.commit()
        await _finish(sessions, job_id, progress, clock(), None)
    except Exception as exc:
        for pending in checking:
            pending.cancel()
        log.exception("import %s failed", job_id)
        await _finish(sessions, job_id, progress, clock(), f"{type(exc).__name__}: {exc}")
        raise


def _check(
    parsed: Parsed,
    mapping: dict[str, str],
    start: int,
    fields: dict[str, CustomField],
    stages: dict[str, str],
) -> asyncio.Future[Checked]:
    checking = asyncio.to_thread(check_rows, parsed, mapping, start, start + BATCH, fields, stages)
    return asyncio.ensure_future(checking)


async def _finish(
    sessions: Sessions, job_id: uuid.UUID, progress: Progress, now: datetime, error: str | None
) -> None:
    async with sessions() as session:
        job = await lock_import(session, job_id)
        job.status = "failed" if error else "completed"
        job.error = error
        job.imported, job.skipped = progress.imported, progress.skipped_count
        if not error:
            job.processed = job.total
        job.report = progress.report()
        job.finished_at = now
        await session.commit()
