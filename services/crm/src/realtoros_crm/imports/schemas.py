"""What the API returns about CSV imports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from realtoros_crm.fields import example
from realtoros_crm.imports.models import ImportStatus


class ImportPublic(BaseModel):
    model_config = example(
        {
            "id": "3f1e2d3c-4b5a-4697-8877-665544332211",
            "filename": "follow-up-boss-export.csv",
            "status": "completed",
            "total": 3,
            "processed": 3,
            "imported": 1,
            "skipped": 2,
            "mapping": {"First Name": "first_name", "Last Name": "last_name"},
            "report": {
                "skipped": [
                    {"row": 3, "reason": "no email address"},
                    {"row": 4, "reason": "already a client (same email address)"},
                ],
                "duplicates": [{"row": 4, "email": "a@example.com", "matched_on": "email"}],
                "duplicate_count": 1,
            },
            "error": None,
            "created_at": "2026-05-01T09:00:00Z",
            "finished_at": "2026-05-01T09:00:01Z",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    filename: str
    status: ImportStatus
    total: int = Field(description="Data rows in the file.")
    processed: int
    imported: int
    skipped: int
    mapping: dict[str, str] = Field(description="CSV header → client field used.")
    report: dict[str, Any] = Field(
        description="skipped (row, reason) and duplicates (row, what matched), first 1000 each."
    )
    error: str | None
    created_at: datetime
    finished_at: datetime | None
