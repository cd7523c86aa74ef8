"""The names of the settings each service really reads, taken from its settings classes,
so that a misspelt variable in compose, a ConfigMap or a Key Vault alias fails a test
instead of being silently ignored by the service (``extra="ignore"``)."""

from __future__ import annotations

import functools
import importlib
import inspect
import os

import pytest
from pydantic import ValidationError

from realtoros_runtime.settings import ServiceSettings, settings_errors

# Read by something other than the settings classes.
NOT_SETTINGS = {
    "REALTOROS_SECRETS_DIR": "where load_settings looks for secret files",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "the OpenTelemetry SDK (observability work)",
    "OTEL_SERVICE_NAME": "the OpenTelemetry SDK (observability work)",
}


def _names(cls: type[ServiceSettings]) -> set[str]:
    return {name.upper() for name in cls.model_fields}


@functools.cache
def settings_of(service: str) -> frozenset[str]:
    """Every variable name a service's settings classes accept (common ones included)."""
    module = importlib.import_module(f"realtoros_{service}.settings")
    classes = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, ServiceSettings) and obj.__module__ == module.__name__
    ]
    assert classes, f"no settings class in {module.__name__}"
    names: set[str] = set()
    for cls in classes:
        names |= _names(cls)
    return frozenset(names)


def common_settings() -> frozenset[str]:
    return frozenset(_names(ServiceSettings))


def unknown(service: str, names: set[str] | list[str]) -> list[str]:
    """The names a service would ignore."""
    return sorted(n for n in names if n not in settings_of(service) and n not in NOT_SETTINGS)


def serving_settings(service: str) -> type[ServiceSettings]:
    """The class the service loads to serve: the one of its module with the most fields."""
    module = importlib.import_module(f"realtoros_{service}.settings")
    classes = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, ServiceSettings) and obj.__module__ == module.__name__
    ]
    return max(classes, key=lambda cls: len(cls.model_fields))


def settings_problems(service: str, env: dict[str, str]) -> list[str]:
    """What the service would say at start with exactly this environment (no .env, no
    secrets directory): one line per bad setting, as ``load_settings`` prints them."""
    cls = serving_settings(service)
    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ:
            if name.upper() in settings_of(service):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            cls(_env_file=None, _secrets_dir=None)
        except ValidationError as exc:
            return settings_errors(exc)
    return []
