"""The system the browser tests drive: the services as OS processes, as in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from realtoros_contracts import Namespace
from tests.support.processes import ServiceProcess
from tests.support.stack import running, stack_env


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
        mailer = {"MAIL_TRANSPORT": "file", "MAIL_OUTBOX_DIR": str(outbox)}
        env = stack_env(nats_url, namespace, database_url, llm_url=llm_url or "", mailer=mailer)
        with running({name: env[name] for name in only}, log_dir) as procs:
            yield cls(procs, outbox)
