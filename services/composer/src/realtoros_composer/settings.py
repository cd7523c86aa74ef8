"""The composer's settings: the common ones plus the LLM endpoint and how to use it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from realtoros_runtime.settings import ServiceSettings

SERVICE = "composer"
ComposerMode = Literal["auto", "llm", "template"]
LlmProvider = Literal["openai", "azure"]
AZURE_REQUIRED = ("azure_openai_endpoint", "azure_openai_api_version", "azure_openai_deployment")


class ComposerSettings(ServiceSettings):
    """``COMPOSER_MODE=auto`` uses the LLM when ``OPENAI_API_KEY`` is set, templates otherwise."""

    composer_mode: ComposerMode = Field(
        default="auto", description="auto | llm | template: how emails are drafted."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, description="Key of the OpenAI-compatible endpoint (never logged)."
    )
    openai_base_url: HttpUrl | None = Field(
        default=None, description="Any OpenAI-compatible endpoint; the OpenAI API when unset."
    )
    openai_model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200)
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    llm_max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of one LLM call (429, 5xx, timeouts)."
    )
    llm_max_concurrency: int = Field(
        default=256,
        ge=1,
        le=1024,
        description="LLM calls in flight at once in one replica (LLM_RPM and LLM_TPM keep "
        "within the provider's quota).",
    )
    llm_structured_output: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="The response_format tried first; the composer falls back when the "
        "server rejects it.",
    )
    llm_provider: LlmProvider = Field(
        default="openai",
        description="openai (OpenAI, Ollama, vLLM: any OpenAI-compatible base URL) or azure.",
    )
    azure_openai_endpoint: HttpUrl | None = Field(
        default=None, description="https://<resource>.openai.azure.com (LLM_PROVIDER=azure)."
    )
    azure_openai_api_version: str | None = Field(default=None, max_length=40)
    azure_openai_deployment: str | None = Field(default=None, max_length=200)
    llm_rpm: int = Field(
        default=0,
        ge=0,
        description="LLM requests per minute, all replicas together (0: unlimited).",
    )
    llm_tpm: int = Field(
        default=0, ge=0, description="LLM tokens per minute, all replicas together (0: unlimited)."
    )
    composer_fallback_to_template: bool = Field(
        default=False,
        description="When the LLM stays unavailable, send a template draft for review "
        "instead of ComposeFailed.",
    )

    @field_validator(
        "openai_api_key",
        "openai_base_url",
        "azure_openai_endpoint",
        "azure_openai_api_version",
        "azure_openai_deployment",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # An empty variable (OPENAI_API_KEY= in a .env) means "not set", not "an empty key".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("composer_mode", "llm_structured_output", "llm_provider", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _llm_needs_a_key(self) -> ComposerSettings:
        missing: list[tuple[str, str]] = []
        if self.composer_mode == "llm" and self.openai_api_key is None:
            missing.append(("openai_api_key", "must be set when COMPOSER_MODE=llm"))
        if self.llm_provider == "azure" and self.uses_llm:
            missing += [
                (name, "must be set when LLM_PROVIDER=azure")
                for name in AZURE_REQUIRED
                if getattr(self, name) is None
            ]
        if missing:
            # Reported against each setting itself, so the start-up lines name them.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("missing_for_mode", message),
                        loc=(name,),
                        input=None,
                    )
                    for name, message in missing
                ],
            )
        return self

    @property
    def uses_llm(self) -> bool:
        """Whether emails are drafted by the LLM (otherwise by templates)."""
        if self.composer_mode == "auto":
            return self.openai_api_key is not None
        return self.composer_mode == "llm"

    @property
    def api_key(self) -> str:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else ""
