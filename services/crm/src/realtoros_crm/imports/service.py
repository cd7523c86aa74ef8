"""Running a CSV import: duplicates by normalised email (skipped: that makes a second
import of the same file a no-op) or phone (imported, reported), then batches written with
COPY, progress committed after each batch."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import ClientCreate
from realtoros_crm.clients.service import email_key, phone_digits, stage_label
from realtoros_crm.clients.stages import StageChange, StageHooks
from realtoros_crm.clock import Clock
from realtoros_crm.db import Sessions
from realtoros_crm.imports.models import ClientImport
from realtoros_crm.imports.rows import Checked

log = logging.getLogger(__name__)

BATCH = 2000
REPORT_LIMIT = 1000
"""Entries kept of each list of the report; the counts are always complete."""
CLIENT_COLUMNS = [
    "id", "agent_id", "name", "email", "phone", "stage", "property_address", "property_type",
    "source", "tags", "notes", "custom_fields", "timezone", "unsubscribed", "created_at",
    "updated_at",
]  # fmt: skip
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

    def skip(self, entry: dict[str, Any]) -> None:
        self.skipped_count += 1
        if len(self.skipped) < REPORT_LIMIT:
            self.skipped.append(entry)

    def duplicate(self, entry: dict[str, Any]) -> None:
        self.duplicate_count += 1
        if len(self.duplicates) < REPORT_LIMIT:
            self.duplicates.append(entry)

    def report(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "duplicate_count": self.duplicate_count,
        }


async def _existing(
    session: AsyncSession, agent_id: uuid.UUID, batch: Sequence[tuple[int, ClientCreate]]
) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    emails = list({email_key(c.email) for _, c in batch})
    phones = list({d for _, c in batch if len(d := phone_digits(c.phone)) >= 7})
    statement = select(Client.id, Client.email_key, Client.phone_digits).where(
        Client.agent_id == agent_id,
        Client.deleted_at.is_(None),
        Client.email_key.in_(emails) | Client.phone_digits.in_(phones),
    )
    by_email: dict[str, uuid.UUID] = {}
    by_phone: dict[str, uuid.UUID] = {}
    for client_id, key, digits in (await session.execute(statement)).all():
        by_email.setdefault(key, client_id)
        by_phone.setdefault(digits, client_id)
    return by_email, by_phone


def _record(agent_id: uuid.UUID, client: ClientCreate, now: datetime) -> tuple[Any, ...]:
    data = client.model_dump()
    data.update(
        id=uuid.uuid4(),
        agent_id=agent_id,
        custom_fields=json.dumps(data["custom_fields"]),
        unsubscribed=False,
        created_at=now,
        updated_at=now,
    )
    return tuple(data[column] for column in CLIENT_COLUMNS)


def _admit(
    progress: Progress,
    number: int,
    client: ClientCreate,
    by_email: dict[str, uuid.UUID],
    by_phone: dict[str, uuid.UUID],
) -> bool:
    """Whether the row is imported; records why not, and phone duplicates."""
    key, digits = email_key(client.email), phone_digits(client.phone)
    if key in by_email or key in progress.seen_emails:
        match: dict[str, Any] = {"client_id": str(by_email[key])} if key in by_email else {}
        if key in progress.seen_emails:
            match = {"same_as_row": progress.seen_emails[key]}
        progress.duplicate({"row": number, "email": client.email, "matched_on": "email", **match})
        reason = (
            f"duplicate email: same as row {progress.seen_emails[key]}"
            if key in progress.seen_emails
            else "duplicate email: already a client"
        )
        progress.skip({"row": number, "reason": reason})
        return False
    progress.seen_emails[key] = number
    if len(digits) >= 7 and (digits in by_phone or digits in progress.seen_phones):
        match = {"client_id": str(by_phone[digits])} if digits in by_phone else {}
        if digits in progress.seen_phones:
            match = {"same_as_row": progress.seen_phones[digits]}
        progress.duplicate({"row": number, "email": client.email, "matched_on": "phone", **match})
    if len(digits) >= 7:
        progress.seen_phones.setdefault(digits, number)
    return True


async def _copy(session: AsyncSession, table: str, columns: list[str], rows: list[Any]) -> None:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table, records=rows, columns=columns)


async def _write_batch(
    session: AsyncSession,
    job: ClientImport,
    batch: Sequence[tuple[int, ClientCreate]],
    progress: Progress,
    now: datetime,
) -> list[StageChange]:
    # One import at a time per agent: duplicates are judged against committed rows.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"client-import:{job.agent_id}"},
    )
    by_email, by_phone = await _existing(session, job.agent_id, batch)
    records = [
        _record(job.agent_id, client, now)
        for number, client in batch
        if _admit(progress, number, client, by_email, by_phone)
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
        await _copy(session, "clients", CLIENT_COLUMNS, records)
        await _copy(session, "activities", ACTIVITY_COLUMNS, activities)
    progress.imported += len(records)
    return [StageChange(job.agent_id, r[0], None, r[5], now) for r in records]


async def run_import(
    sessions: Sessions,
    job_id: uuid.UUID,
    checked: Checked,
    hooks: StageHooks,
    clock: Clock,
) -> None:
    """Write the checked rows of the job in batches; the job row shows the progress."""
    progress = Progress()
    for entry in checked.skipped:
        progress.skip(entry)
    try:
        for start in range(0, len(checked.valid), BATCH):
            batch = checked.valid[start : start + BATCH]
            async with sessions() as session:
                job = await session.get_one(ClientImport, job_id, with_for_update=True)
                job.status = "running"
                changes = await _write_batch(session, job, batch, progress, clock())
                await hooks.notify(session, changes)
                job.processed = len(checked.skipped) + start + len(batch)
                job.imported, job.skipped = progress.imported, progress.skipped_count
                await session.commit()
        await _finish(sessions, job_id, progress, clock(), None)
    except Exception as exc:
        log.exception("import %s failed", job_id)
        await _finish(sessions, job_id, progress, clock(), f"{type(exc).__name__}: {exc}")
        raise


async def _finish(
    sessions: Sessions, job_id: uuid.UUID, progress: Progress, now: datetime, error: str | None
) -> None:
    async with sessions() as session:
        job = await session.get_one(ClientImport, job_id, with_for_update=True)
        job.status = "failed" if error else "completed"
        job.error = error
        job.imported, job.skipped = progress.imported, progress.skipped_count
        if not error:
            job.processed = job.total
        job.report = progress.report()
        job.finished_at = now
        await session.commit()
