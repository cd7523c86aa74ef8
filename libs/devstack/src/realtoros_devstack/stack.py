"""What ``realtoros-dev run`` sets up before the services start: the configuration, NATS
and PostgreSQL (from the environment, or embedded with their data under ``.data``), the
database, the JWT secret and each service's environment."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from realtoros_contracts import Namespace
from realtoros_devstack import natsauth
from realtoros_devstack.embedded import EmbeddedNats, EmbeddedPostgres


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    default_port: int

    @property
    def port_variable(self) -> str:
        return f"REALTOROS_DEV_{self.name.upper()}_PORT"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("crm", "realtoros_crm", 8000),
    ServiceSpec("scheduler", "realtoros_scheduler", 8001),
    ServiceSpec("composer", "realtoros_composer", 8002),
    ServiceSpec("mailer", "realtoros_mailer", 8003),
)
SERVICE_NAMES = tuple(spec.name for spec in SERVICES)

DEFAULT_NATS_PORT = 14222  # not 4222/5432: leave the machine's usual servers alone
DEFAULT_PG_PORT = 15432
DEFAULT_INBOUND_SMTP_PORT = 2525
"""The mailer's local inbound SMTP server (replies): REALTOROS_DEV_INBOUND_SMTP_PORT."""
INBOUND_DOMAIN = "replies.localhost"
DATABASE = "realtoros"


class SetupError(Exception):
    """Something the developer has to fix; the message says what."""


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The project's local data folder, as ``realtoros_runtime.project_data_dir`` finds it."""
    return Path(env.get("REALTOROS_DATA_DIR", ".data")).resolve()


@dataclass(frozen=True)
class DevConfig:
    data_dir: Path
    services: tuple[str, ...] = SERVICE_NAMES
    nats_port: int = DEFAULT_NATS_PORT
    pg_port: int = DEFAULT_PG_PORT
    inbound_smtp_port: int = DEFAULT_INBOUND_SMTP_PORT
    ports: Mapping[str, int] = field(default_factory=dict)
    host: str = "127.0.0.1"
    ready_timeout: float = 90.0
    stop_timeout: float = 10.0

    def port_of(self, service: str) -> int:
        return self.ports[service]

    def specs(self) -> list[ServiceSpec]:
        return [spec for spec in SERVICES if spec.name in self.services]

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise SetupError(f"{name} must be a port number, not {raw!r}") from None
    if not 1 <= port <= 65535:
        raise SetupError(f"{name} must be between 1 and 65535")
    return port


def resolve_config(
    env: Mapping[str, str],
    *,
    data_dir: Path | None = None,
    only: Sequence[str] = (),
    ready_timeout: float = 90.0,
) -> DevConfig:
    unknown = sorted(set(only) - set(SERVICE_NAMES))
    if unknown:
        raise SetupError(f"unknown service(s) {', '.join(unknown)}; known: {SERVICE_NAMES}")
    ports = {spec.name: _port(env, spec.port_variable, spec.default_port) for spec in SERVICES}
    return DevConfig(
        data_dir=(data_dir or default_data_dir(env)).resolve(),
        services=tuple(name for name in SERVICE_NAMES if not only or name in only),
        nats_port=_port(env, "REALTOROS_DEV_NATS_PORT", DEFAULT_NATS_PORT),
        pg_port=_port(env, "REALTOROS_DEV_PG_PORT", DEFAULT_PG_PORT),
        inbound_smtp_port=_port(env, "REALTOROS_DEV_INBOUND_SMTP_PORT", DEFAULT_INBOUND_SMTP_PORT),
        ports=ports,
        ready_timeout=ready_timeout,
    )


def ensure_port_free(port: int, variable: str, host: str = "127.0.0.1") -> None:
    with socket.socket() as sock:
        # As the servers themselves do: connections of a previous run in TIME_WAIT are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise SetupError(
                f"port {port} on {host} is in use (another `realtoros-dev run`?); "
                f"stop it or choose another port with {variable}"
            ) from None


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
            self.say(f"using NATS at {_redact(self.nats_url)} (NATS_URL)")
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
            self.say(f"using PostgreSQL at {_redact(self.database_url)} (DATABASE_URL)")

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


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def asyncpg_url(url: str) -> str:
    """asyncpg takes ``postgresql://``; SQLAlchemy-style URLs name the driver."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


async def ensure_database(url: str, timeout: float = 15.0) -> bool:
    """Create the database named in ``url`` if it does not exist; True when created."""
    url = asyncpg_url(url)
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except asyncpg.InvalidCatalogNameError:
        pass
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise SetupError(f"cannot connect to PostgreSQL at {_redact(url)}: {exc}") from exc
    else:
        await conn.close()
        return False
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=timeout)
    try:
        quoted = name.replace('"', '""')
        await admin.execute(f'CREATE DATABASE "{quoted}"')
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await admin.close()
    return True


def jwt_secret(env: Mapping[str, str], secrets_dir: Path) -> str:
    """``JWT_SECRET`` from the environment, else the one generated on the first run and kept
    in ``<secrets_dir>/JWT_SECRET`` (mode 0600)."""
    return kept_secret("JWT_SECRET", env, secrets_dir)


def kept_secret(name: str, env: Mapping[str, str], secrets_dir: Path) -> str:
    """``name`` from the environment, else the value generated on the first run and kept in
    ``<secrets_dir>/<name>`` (mode 0600), so it survives restarts."""
    if value := env.get(name):
        return value
    path = secrets_dir / name
    if path.exists() and (existing := path.read_text().strip()):
        return existing
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    path.chmod(0o600)
    return value


def service_env(
    spec: ServiceSpec,
    config: DevConfig,
    env: Mapping[str, str],
    *,
    nats_url: str,
    database_url: str | None,
    jwt: str | None,
    nats_credentials: tuple[str, str] | None = None,
    reply_secret: str | None = None,
) -> dict[str, str]:
    """The environment of one service: the developer's, plus what the stack provides."""
    result = dict(env)
    if nats_credentials is not None:
        result["NATS_USER"], result["NATS_PASSWORD"] = nats_credentials
    result.update(
        NATS_URL=nats_url,
        HTTP_HOST=env.get("HTTP_HOST", config.host),
        HTTP_PORT=str(config.port_of(spec.name)),
        REALTOROS_DATA_DIR=str(config.data_dir),
        PYTHONUNBUFFERED="1",
    )
    if spec.name == "crm":
        if database_url is not None:
            result["DATABASE_URL"] = database_url
        if jwt is not None:
            result["JWT_SECRET"] = jwt
    if spec.name == "mailer":
        result.setdefault("MAIL_TRANSPORT", "file")
        result.setdefault("MAIL_OUTBOX_DIR", str(config.outbox_dir))
        if reply_secret is not None:  # replies: the local inbound SMTP server
            result.setdefault("MAIL_INBOUND_DOMAIN", INBOUND_DOMAIN)
            result.setdefault("MAIL_INBOUND_SMTP_PORT", str(config.inbound_smtp_port))
            result.setdefault("MAIL_REPLY_SECRET", reply_secret)
    return result
