"""NATS and PostgreSQL for ``realtoros-dev run``: the environment's, or embedded servers
with their data under the data dir."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from realtoros_contracts import Namespace
from realtoros_devstack import natsauth
from realtoros_devstack.database import redact
from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres
from realtoros_devstack.stack import DATABASE, DevConfig, SetupError, ensure_port_free


class Backends:
    """NATS and PostgreSQL: the environment's when ``NATS_URL`` / ``DATABASE_URL`` are set,
    otherwise embedded servers on fixed ports with their data kept under the data dir."""

    def __init__(
        self, config: DevConfig, env: Mapping[str, str], say: Callable[[str], None]
    ) -> None:
        self.config = config
        self.say = say
        self.nats_url = env.get("NATS_URL") or None
        self.database_url = env.get("DATABASE_URL") or None
        self.nats: EmbeddedNats | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.namespace = Namespace(env.get("NATS_NAMESPACE") or "realtoros")
        self.nats_passwords: dict[str, str] = {}
        """Every NATS user's password, when the embedded server runs with natsauth's users."""

    def nats_credentials(self, role: str) -> tuple[str, str] | None:
        """The user and password of ``role`` (a service, ``subscriber``), or None when the
        server is the environment's."""
        name = (
            natsauth.ADMIN if role == natsauth.ADMIN else natsauth.user_name(self.namespace, role)
        )
        password = self.nats_passwords.get(name)
        return (name, password) if password is not None else None

    @property
    def needs_database(self) -> bool:
        return "crm" in self.config.services

    def start(self) -> None:
        """Blocking: start what is not given by the environment."""
        data = self.config.data_dir
        if self.nats_url is None:
            ensure_port_free(self.config.nats_port, "REALTOROS_DEV_NATS_PORT")
            self.say(f"starting NATS on port {self.config.nats_port} (data in {data / 'nats'})")
            auth = self._nats_auth_config()
            self.nats = EmbeddedNats(
                data / "nats", self.config.nats_port, new_session=True, config_file=auth
            )
            _start(self.nats.start, "NATS", self.nats.log_path)
            self.nats_url = self.nats.url
        else:
            self.say(f"using NATS at {redact(self.nats_url)} (NATS_URL)")
        if not self.needs_database:
            return
        if self.database_url is None:
            ensure_port_free(self.config.pg_port, "REALTOROS_DEV_PG_PORT")
            self.say(
                f"starting PostgreSQL on port {self.config.pg_port} (data in {data / 'postgres'})"
            )
            self.postgres = EmbeddedPostgres(
                data / "postgres", self.config.pg_port, new_session=True
            )
            _start(self.postgres.start, "PostgreSQL", self.postgres.log_path)
            self.database_url = self.postgres.url_for(DATABASE)
        else:
            self.say(f"using PostgreSQL at {redact(self.database_url)} (DATABASE_URL)")

    def _nats_auth_config(self) -> Path:
        """One user per service, the read-only subscriber and admin; passwords generated
        on the first run and kept under the secrets dir."""
        namespaces = [self.namespace]
        path = self.config.secrets_dir / natsauth.PASSWORDS_FILE
        self.nats_passwords = natsauth.ensure_passwords(path, natsauth.user_names(namespaces))
        return natsauth.write_config(self.config.data_dir / "nats", namespaces, self.nats_passwords)

    def dead(self) -> str | None:
        """Which embedded server has exited on its own, if any."""
        for name, server in (("NATS", self.nats), ("PostgreSQL", self.postgres)):
            proc = server.proc if server is not None else None
            if proc is not None and proc.poll() is not None:
                log = server.log_path if server is not None else ""
                return f"embedded {name} exited with code {proc.returncode} (log: {log})"
        return None

    def stop(self) -> None:
        """Blocking: stop the embedded servers (those of the environment are left alone)."""
        if self.postgres is not None and self.postgres.proc is not None:
            self.say("stopping PostgreSQL")
            self.postgres.stop()
        if self.nats is not None and self.nats.proc is not None:
            self.say("stopping NATS")
            self.nats.stop()


def _start(start: Callable[[], object], name: str, log_path: Path) -> None:
    try:
        start()
    except (OSError, RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
        raise SetupError(f"embedded {name} did not start: {exc} (log: {log_path})") from exc
