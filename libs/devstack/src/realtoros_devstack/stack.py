"""What ``realtoros-dev run`` runs and with what: the services, the configuration (ports,
data dir) and each service's environment. The servers are in ``backends``, the database
in ``database``, the generated secrets in ``kept_secrets``."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


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
