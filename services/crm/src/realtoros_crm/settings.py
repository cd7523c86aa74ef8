"""The CRM's settings. ``DATABASE_URL`` alone is enough to migrate; serving needs the rest."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from realtoros_runtime.settings import CommaList, ServiceSettings

_ASYNCPG_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}


def normalise_database_url(value: str) -> str:
    """``postgresql://``, ``postgres://`` or ``postgresql+asyncpg://`` → the asyncpg form."""
    scheme, sep, rest = value.strip().partition("://")
    if not sep or not rest:
        raise ValueError("must be a URL like postgresql://user:password@host:5432/database")
    if scheme.lower() not in _ASYNCPG_SCHEMES:
        raise ValueError(
            f"scheme {scheme!r} is not supported: use postgresql://, postgres:// "
            "or postgresql+asyncpg://"
        )
    return f"postgresql+asyncpg://{rest}"


class DatabaseSettings(ServiceSettings):
    """What ``realtoros-crm migrate`` needs."""

    database_url: str = Field(
        description="PostgreSQL URL (postgresql://, postgres:// or postgresql+asyncpg://)."
    )

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str) -> str:
        return normalise_database_url(value)


class CrmSettings(DatabaseSettings):
    """Everything the CRM process needs to serve."""

    jwt_secret: SecretStr = Field(description="HS256 key of the agents' access tokens.")
    jwt_ttl_minutes: int = Field(
        default=15,
        ge=1,
        le=60 * 24 * 30,
        description="Lifetime of an access token; the refresh token renews it.",
    )
    refresh_ttl_days: int = Field(default=30, ge=1, le=365)
    google_client_id: str | None = Field(
        default=None, description="OAuth client id: the audience of Google ID tokens."
    )
    google_jwks_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://www.googleapis.com/oauth2/v3/certs"),
        description="Google's published signing keys.",
    )
    google_jwks_cache_seconds: int = Field(default=3600, ge=0, le=86_400)
    google_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    login_max_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failed sign-ins per account from one client address (or one known "
        "device) within the window.",
    )
    login_max_failures_per_ip: int = Field(default=30, ge=1, le=100_000)
    login_max_failures_per_account: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Failed sign-ins per account from all unknown devices within the window "
        "(devices that signed in before are never blocked by it).",
    )
    login_window_seconds: int = Field(default=900, ge=1, le=86_400)
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    import_max_rows: int = Field(default=100_000, ge=1, le=1_000_000)
    public_base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="Where agents and clients reach the CRM (used in unsubscribe links).",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None, description="Key of the unsubscribe tokens (derived from JWT_SECRET)."
    )
    claim_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    prune_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="How often published outbox rows, old inbox rows, expired tokens, old "
        "webhook deliveries and deleted clients' lead ids are deleted "
        "(docs/operations.md#what-is-kept-and-for-how-long).",
    )
    prune_outbox_after_hours: float = Field(
        default=24.0,
        ge=0,
        le=24 * 90,
        description="Hours a published outbox row is kept (for looking into an incident).",
    )
    prune_webhook_deliveries_after_days: float = Field(
        default=30.0,
        ge=9,  # past the inbox horizon: the unique key stops a redelivered event's twin
        le=3650,
        description="Days a finished (delivered or failed) webhook delivery is kept: the "
        "delivery log and its replays reach that far back.",
    )
    prune_lead_ids_after_days: float = Field(
        default=30.0,
        ge=0,
        le=3650,
        description="Days a lead source's ids are kept after their client is deleted (a "
        "client restored within them is still matched by a reposted lead).",
    )
    reconcile_after_seconds: int = Field(
        default=900,
        ge=1,
        description="An email in flight (composing, sending) longer than this is asked for "
        "again by the reconciler; keep it above JetStream's 10-minute duplicate window.",
    )
    reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    cors_origins: CommaList = Field(default_factory=list)
    web_secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="The web app's session cookie is Secure: auto = when the request came "
        "over HTTPS (X-Forwarded-Proto from a trusted proxy counts).",
    )

    webhook_allow_loopback: bool = Field(
        default=False,
        description="Tests only: let webhooks reach receivers on 127.0.0.1 (plain HTTP).",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="The wait after a webhook's first failure."
    )
    webhook_retry_factor: float = Field(default=4.0, ge=1, le=10)
    webhook_retry_max_delay_seconds: float = Field(default=8 * 3600, gt=0, le=86_400)
    webhook_max_attempts: int = Field(
        default=11, ge=1, le=50, description="Attempts per delivery (default: over ~36 h)."
    )
    webhook_disable_after_seconds: float = Field(
        default=3 * 86_400,
        gt=0,
        description="An endpoint failing without a success for this long is disabled.",
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_concurrency: int = Field(default=16, ge=1, le=500)

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    @field_validator("unsubscribe_secret")
    @classmethod
    def _unsubscribe_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters long")
        return value

    def unsubscribe_key(self) -> bytes:
        if self.unsubscribe_secret is not None:
            return self.unsubscribe_secret.get_secret_value().encode()
        jwt_key = self.jwt_secret.get_secret_value().encode()
        return hmac.new(jwt_key, b"realtoros-crm/unsubscribe", hashlib.sha256).digest()

    def public_url(self, path: str) -> str:
        return str(self.public_base_url).rstrip("/") + path
