"""Provider configuration by settings alone: OpenAI, Azure OpenAI, and OpenAI-compatible
servers such as Ollama and vLLM, each pointed at the fake server."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from realtoros_composer.app import describe
from realtoros_composer.settings import ComposerSettings
from realtoros_contracts import EmailComposed
from tests.composer.conftest import ComposerFactory
from tests.support.fake_llm import FakeLLM
from tests.support.samples import task_due

AZURE = {
    "llm_provider": "azure",
    "azure_openai_api_version": "2024-10-21",
    "azure_openai_deployment": "emails-gpt4o",
}


def settings(**values: Any) -> ComposerSettings:
    return ComposerSettings(_env_file=None, **{"openai_api_key": "k", **values})


async def test_azure_openai_is_called_on_its_deployment_url_with_an_api_key_header(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    harness = await start_composer(
        openai_base_url=None, azure_openai_endpoint=fake_llm.url, **AZURE
    )
    await harness.publish_task(task_due())

    [composed] = await harness.wait_for(EmailComposed)
    [request] = fake_llm.requests
    assert request["path"] == "/openai/deployments/emails-gpt4o/chat/completions"
    assert request["query"] == {"api-version": "2024-10-21"}
    assert request["auth"] == "api-key"
    assert composed.model == "emails-gpt4o"
    assert composed.provider_request_id == request["request_id"]


async def test_an_openai_compatible_server_without_structured_output_ollama_style(
    start_composer: ComposerFactory, fake_llm: FakeLLM
) -> None:
    # Ollama and vLLM speak /v1/chat/completions with a bearer key (any) and json_object.
    fake_llm.rejected_formats = {"json_schema"}
    harness = await start_composer(openai_model="llama3.1:8b", llm_structured_output="json_object")
    await harness.publish_task(task_due())

    [composed] = await harness.wait_for(EmailComposed)
    [request] = fake_llm.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "bearer"
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert composed.model == "llama3.1:8b"


def test_azure_settings_are_required_when_azure_is_selected() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(llm_provider="azure")
    names = {error["loc"][0] for error in caught.value.errors()}
    assert names == {"azure_openai_endpoint", "azure_openai_api_version", "azure_openai_deployment"}
    assert all("LLM_PROVIDER=azure" in e["msg"] for e in caught.value.errors())


def test_azure_settings_are_not_needed_for_templates_or_openai() -> None:
    assert settings(llm_provider="azure", composer_mode="template").uses_llm is False
    assert settings().llm_provider == "openai"


def test_describe_names_the_provider_and_never_the_key() -> None:
    s = settings(
        openai_api_key="sk-secret-xyz",
        azure_openai_endpoint="https://res.openai.azure.com",
        **AZURE,
    )
    text = describe(s)
    assert "Azure OpenAI https://res.openai.azure.com/ deployment emails-gpt4o" in text
    assert "sk-secret" not in text
    assert "∞ rpm" in describe(settings(llm_tpm=1000))
