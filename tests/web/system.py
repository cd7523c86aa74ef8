"""The system the browser tests drive: the services as OS processes, as in production."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from realtoros_contracts import Namespace
from tests.support.processes import ServiceProcess


@dataclass
class System:
    procs: dict[str, ServiceProcess]
    outbox: Path

    @property
    def url(self) -> str:
        return self.procs["crm"].base_url

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{p.logs()[-3000:]}" for name, p in self.procs.items())

    @classmethod
    @contextmanager
    def start(
        cls,
        run_dir: Path,
        nats_url: str,
        namespace: Namespace,
        database_url: str,
        llm_url: str | None,
        only: tuple[str, ...] = ("crm", "scheduler", "composer", "mailer"),
    ) -> Iterator[System]:
        log_dir = run_dir / f"web-{namespace.name}"
        log_dir.mkdir()
        outbox = log_dir / "outbox"
        common = {"NATS_URL": nats_url, "NATS_NAMESPACE": namespace.name, "LOG_LEVEL": "INFO"}
        env = {
            "crm": {"DATABASE_URL": database_url, "JWT_SECRET": secrets.token_hex(32)},
            "scheduler": {"TICK_INTERVAL_SECONDS": "0.5"},
            "composer": {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_url or ""},
            "mailer": {"MAIL_TRANSPORT": "file", "MAIL_OUTBOX_DIR": str(outbox)},
        }
        procs = {name: ServiceProcess(name, {**common, **env[name]}, log_dir) for name in only}
        try:
            for proc in procs.values():
                proc.start()
            for proc in procs.values():
                proc.wait_ready(180)  # generous: four services import at once under load
            yield cls(procs, outbox)
        finally:
            for proc in procs.values():
                proc.stop()
