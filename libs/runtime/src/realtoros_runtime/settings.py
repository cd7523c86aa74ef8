"""Settings shared by every service, and the one way a service loads them.

Each service subclasses :class:`ServiceSettings`. Values come from the environment, a
``.env`` file and a secrets directory (the Kubernetes/Key Vault mount: one file per
setting, named like the variable). A bad value stops the service at start with one line
per bad setting, naming it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BeforeValidator, Field, UrlConstraints, ValidationError, field_validator
from pydantic_core import Url
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from realtoros_contracts import Namespace


def split_list(value: object) -> object:
    """A list setting given as a JSON list or a comma-separated string."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_list)]
"""A list of strings read from ``a,b,c`` or ``["a", "b", "c"]``."""

NatsUrl = Annotated[Url, UrlConstraints(allowed_schemes=["nats", "tls", "ws", "wss"])]
NatsUrls = Annotated[list[NatsUrl], NoDecode, BeforeValidator(split_list)]
"""One NATS server URL, or several (``nats://a:4222,nats://b:4222``, or a JSON list): the
client connects to any and reconnects to the survivors when one goes."""

DEFAULT_SECRETS_DIR = "/run/secrets/realtoros"
S = TypeVar("S", bound="ServiceSettings")


def project_data_dir() -> Path:
    """The project's local data folder (``.data`` at the repository root by default)."""
    return Path(os.environ.get("REALTOROS_DATA_DIR", ".data")).resolve()


class ServiceSettings(BaseSettings):
    """Settings every service has."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    nats_url: NatsUrls = Field(
        default=[Url("nats://127.0.0.1:4222")],
        min_length=1,
        description="NATS server with JetStream, or a comma-separated list of a cluster's servers.",
    )
    jetstream_replicas: Literal[1, 3, 5] = Field(
        default=1,
        description="Servers that keep a copy of every stream and KV bucket: 1 on one "
        "server (the embedded default), 3 on a JetStream cluster (production).",
    )
    nats_namespace: str = Field(
        default="realtoros",
        description="Prefix of every subject, stream and bucket (lets two deployments or "
        "test runs share one NATS server).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one plain line per record (a terminal); json: one JSON object per "
        "line with the trace id (containers).",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    max_deliveries: int = Field(
        default=5, ge=1, le=100, description="Deliveries of one message before it is dead-lettered."
    )

    @field_validator("nats_namespace")
    @classmethod
    def _valid_namespace(cls, value: str) -> str:
        Namespace(value)
        return value

    @field_validator("jetstream_replicas", mode="before")
    @classmethod
    def _replica_count(cls, value: object) -> object:
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def namespace(self) -> Namespace:
        return Namespace(self.nats_namespace, replicas=self.jetstream_replicas)

    @property
    def nats_servers(self) -> list[str]:
        """The server URLs as the NATS client takes them."""
        return [str(url) for url in self.nats_url]


def settings_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting: ``NAME: what is wrong`` (never the value itself)."""
    lines = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]).upper() or "settings"
        lines.append(f"{name}: {error['msg']}")
    return lines


def load_settings(cls: type[S], service: str) -> S:
    """Build the settings or exit with one clear line per bad value (exit code 2)."""
    secrets_dir = os.environ.get("REALTOROS_SECRETS_DIR", DEFAULT_SECRETS_DIR)
    try:
        if Path(secrets_dir).is_dir():
            return cls(_secrets_dir=secrets_dir)
        return cls()
    except ValidationError as exc:
        for line in settings_errors(exc):
            print(f"{service}: bad setting {line}", file=sys.stderr)
        raise SystemExit(2) from None
