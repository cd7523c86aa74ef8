"""The mailer's settings: which transport, where the local outbox is, and SES.

Cross-setting rules (SES needs a sender and credentials) are field validators with
``validate_default`` so that each error names the setting that is missing, one line each.
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import Field, HttpUrl, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import SettingsConfigDict

from realtoros_mailer.ledger import RECORD_PATIENCE
from realtoros_runtime.settings import ServiceSettings, project_data_dir

MailTransport = Literal["file", "ses", "smtp"]

DEFAULT_FILE_FROM = "no-reply@realtoros.localhost"


def _default_outbox() -> Path:
    return project_data_dir() / "outbox"


def _ses_selected(info: ValidationInfo) -> bool:
    return info.data.get("mail_transport") == "ses"


# The genuine SNS signing-certificate and subscription hosts. Only tests widen this.
SNS_HOST_PATTERN = r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"


class MailerSettings(ServiceSettings):
    """``MAIL_*`` choose the transport; ``AWS_*`` / ``SES_*`` configure SES."""

    # An empty variable (``SES_CONFIGURATION_SET=`` in a ConfigMap or compose file) means
    # "not set", not "set to the empty string".
    model_config = SettingsConfigDict(env_ignore_empty=True)

    mail_transport: MailTransport = Field(
        default="file",
        description="file: write .eml files to MAIL_OUTBOX_DIR; ses: send through Amazon "
        "SES; smtp: hand to an SMTP server (a local mail catcher).",
    )
    mail_outbox_dir: Path = Field(
        default_factory=_default_outbox, description="Where the file transport writes."
    )
    mail_from_address: str = Field(
        default=DEFAULT_FILE_FROM,
        description="The From address of the file and SMTP transports (SES uses SES_FROM_ADDRESS).",
    )
    aws_region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")
    aws_profile: str | None = Field(
        default=None, description="A named profile of the AWS config to take credentials from."
    )
    aws_web_identity_token_file: str | None = Field(
        default=None, description="Set by EKS/IRSA-style workload identity; boto reads it."
    )
    aws_container_credentials_full_uri: str | None = None
    aws_container_credentials_relative_uri: str | None = None
    aws_access_key_id: SecretStr | None = Field(default=None, validate_default=True)
    aws_secret_access_key: SecretStr | None = Field(default=None, validate_default=True)
    aws_session_token: SecretStr | None = None
    ses_endpoint_url: HttpUrl | None = Field(
        default=None, description="Another SES endpoint (moto in tests, a VPC endpoint)."
    )
    ses_from_address: str | None = Field(
        default=None,
        validate_default=True,
        description="The verified sending address, e.g. notifications@mail.example.com.",
    )
    ses_configuration_set: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    mail_max_workers: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Emails one replica sends at once, per consumer (a slow send holds "
        "back only its own worker).",
    )
    mail_claim_grace_seconds: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="How long another replica's claim on an email counts as a send in "
        "progress before it is reported unknown (default: the transport's timeouts plus "
        "the ledger's 60 s patience plus 5 s). Shorter than a live send risks a false "
        "unknown, never a second send.",
    )
    ses_connect_timeout: float = Field(default=5.0, gt=0, le=60)
    ses_read_timeout: float = Field(default=20.0, gt=0, le=300)
    ses_max_send_rate: float = Field(
        default=14.0,
        gt=0,
        le=10_000,
        description="Emails per second all replicas together may send when SES's "
        "GetAccount cannot be read (file/SMTP transports, an SES stand-in); with SES the "
        "account's own maximum send rate applies.",
    )
    ses_quota_refresh_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="How often the account's send quota is read again from SES "
        "(GetAccount), so a raised quota is used without a redeploy.",
    )
    mail_pause_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="How long sending pauses when SES says the daily quota is used up or "
        "sending is paused; emails wait, none fails.",
    )
    smtp_host: str = Field(default="127.0.0.1", max_length=255)
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = Field(default=20.0, gt=0, le=300)
    mailer_allow_reserved_domains: bool = Field(
        default=False,
        description="FOR TESTS ONLY: let SES send to reserved example domains (example.com, "
        "*.test, …); otherwise such emails are skipped with the reason.",
    )
    sns_topic_arns: list[str] = Field(
        default_factory=list,
        description="When set, only SES notifications from these SNS topics are accepted.",
    )
    sns_cert_url_pattern: str = Field(
        default=SNS_HOST_PATTERN,
        description="FOR TESTS ONLY: the URLs SNS signing certificates and subscription "
        "confirmations may come from (default: the genuine sns.<region>.amazonaws.com).",
    )
    mail_inbound_domain: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$",
        description="Replies: each email's Reply-To becomes reply+<signed token>@ this "
        "domain (its MX points at SES receiving, or the local inbound SMTP server); unset: "
        "replies go straight to the agent and are not detected.",
    )
    mail_reply_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Signs the reply addresses (at least 32 characters); required with "
        "MAIL_INBOUND_DOMAIN.",
    )
    mail_inbound_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=40 * 1024 * 1024,
        description="Inbound messages larger than this are refused (logged, never parsed).",
    )
    mail_inbound_smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Listen for inbound mail (replies) on this SMTP port (./dev run: 2525).",
    )
    mail_inbound_smtp_host: str = Field(default="127.0.0.1", max_length=255)
    s3_endpoint_url: HttpUrl | None = Field(
        default=None,
        description="S3 endpoint for mail an SES receipt rule stored in S3 (default: AWS).",
    )

    @field_validator("mail_reply_secret")
    @classmethod
    def _reply_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None and info.data.get("mail_inbound_domain"):
            raise PydanticCustomError("missing", "required when MAIL_INBOUND_DOMAIN is set")
        if value is not None and len(value.get_secret_value()) < 32:
            raise PydanticCustomError("too_short", "must be at least 32 characters")
        return value

    @field_validator("sns_cert_url_pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise PydanticCustomError(
                "regex", "not a regular expression: {e}", {"e": str(exc)}
            ) from None
        if not value.startswith("^"):
            raise PydanticCustomError("regex", "must be anchored at the start (^)")
        return value

    @field_validator("mail_from_address")
    @classmethod
    def _valid_file_from(cls, value: str) -> str:
        # The local default is on a special-use domain email-validator refuses; the email
        # package's own parser is the right judge for a file that never leaves the machine.
        try:
            address = Address(addr_spec=value)
        except (HeaderParseError, ValueError, IndexError) as exc:
            raise PydanticCustomError(
                "email", "not an email address: {error}", {"error": str(exc)}
            ) from None
        if not address.domain:
            raise PydanticCustomError("email", "an email address needs a domain")
        return value

    @field_validator("ses_from_address")
    @classmethod
    def _valid_ses_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if _ses_selected(info):
                raise PydanticCustomError("missing", "required when MAIL_TRANSPORT=ses")
            return None
        try:
            # test_environment: a *.test sender is fine against moto or a local endpoint;
            # real SES refuses any sender it has not verified anyway.
            checked = validate_email(
                value, check_deliverability=False, allow_smtputf8=False, test_environment=True
            )
        except EmailNotValidError as exc:
            raise PydanticCustomError(
                "email", "not a valid email address: {error}", {"error": str(exc)}
            ) from None
        return checked.ascii_email or checked.normalized

    @field_validator("aws_access_key_id")
    @classmethod
    def _credentials_somewhere(cls, value: SecretStr | None, info: ValidationInfo) -> object:
        if value is None and _ses_selected(info) and not cls._chain_configured(info):
            raise PydanticCustomError(
                "missing",
                "required when MAIL_TRANSPORT=ses, with AWS_SECRET_ACCESS_KEY, unless "
                "AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE or container credentials are set",
            )
        return value

    @field_validator("aws_secret_access_key")
    @classmethod
    def _keys_in_pairs(cls, value: SecretStr | None, info: ValidationInfo) -> object:
        key_id_given = info.data.get("aws_access_key_id") is not None
        if value is None and key_id_given:
            raise PydanticCustomError("missing", "required when AWS_ACCESS_KEY_ID is set")
        if value is not None and not key_id_given and "aws_access_key_id" in info.data:
            raise PydanticCustomError("unpaired", "set without AWS_ACCESS_KEY_ID")
        return value

    @staticmethod
    def _chain_configured(info: ValidationInfo) -> bool:
        names = (
            "aws_profile",
            "aws_web_identity_token_file",
            "aws_container_credentials_full_uri",
            "aws_container_credentials_relative_uri",
        )
        return any(info.data.get(name) for name in names)

    def reply_key(self) -> bytes:
        assert self.mail_reply_secret is not None, "checked with MAIL_INBOUND_DOMAIN"
        return self.mail_reply_secret.get_secret_value().encode()

    @property
    def from_address(self) -> str:
        """The address emails are sent from with the configured transport."""
        if self.mail_transport == "ses":
            assert self.ses_from_address is not None  # enforced by the validator
            return self.ses_from_address
        return self.mail_from_address

    @property
    def claim_grace(self) -> float:
        """How long another mailer's claim is taken for a send in progress: the longest a
        live mailer can take to send (the transport's timeouts) and record the result
        (the ledger's patience), with a margin; MAIL_CLAIM_GRACE_SECONDS overrides it."""
        if self.mail_claim_grace_seconds is not None:
            return self.mail_claim_grace_seconds
        if self.mail_transport == "ses":
            sending = self.ses_connect_timeout + self.ses_read_timeout
        elif self.mail_transport == "smtp":
            sending = self.smtp_timeout
        else:
            sending = 5.0
        return sending + RECORD_PATIENCE + 5.0
