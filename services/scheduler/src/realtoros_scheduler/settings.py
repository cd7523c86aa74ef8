"""The scheduler's settings (environment, ``.env`` or the secrets directory)."""

from __future__ import annotations

import os
import re
import socket

from pydantic import Field, field_validator

from realtoros_runtime.settings import CommaList, ServiceSettings

_SCHEDULE_RE = re.compile(r"^[a-z0-9-]{1,40}$")


def default_replica_id() -> str:
    """``<hostname>-<pid>``: the pod name on Kubernetes, unique enough on a laptop."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(ServiceSettings):
    tick_interval_seconds: float = Field(
        default=0.2,
        gt=0,
        description="Length of one slot: the leader publishes one tick per schedule per slot. "
        "A due task waits up to one slot to be claimed; a tick with nothing due costs the CRM "
        "one index read.",
    )
    schedules: CommaList = Field(
        default_factory=lambda: ["due-tasks"],
        description="Names of the schedules to tick (comma-separated or a JSON list); each "
        "has its own subject, realtoros.scheduler.tick.<schedule>.",
    )
    lease_ttl_seconds: float = Field(
        default=5.0,
        ge=1,
        le=3600,
        description="Lifetime of the leader key: a dead leader is replaced within about this.",
    )
    replica_id: str = Field(
        default_factory=default_replica_id,
        min_length=1,
        max_length=200,
        description="This replica's name, carried in every tick it publishes.",
    )

    @field_validator("schedules")
    @classmethod
    def _valid_schedules(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one schedule is needed")
        bad = [name for name in value if not _SCHEDULE_RE.match(name)]
        if bad:
            raise ValueError(
                f"schedule names must be 1-40 lower-case letters, digits or '-': {bad!r}"
            )
        if len(set(value)) != len(value):
            raise ValueError("schedule names must be unique")
        return value
