"""Entry point: ``python -m realtoros_scheduler`` (also the ``realtoros-scheduler`` script)."""

from __future__ import annotations

from realtoros_runtime.logs import configure_logging
from realtoros_runtime.settings import load_settings
from realtoros_runtime.telemetry import setup_tracing
from realtoros_runtime.worker import serve
from realtoros_scheduler.app import build_app
from realtoros_scheduler.settings import Settings


def main() -> None:
    settings = load_settings(Settings, "scheduler")
    configure_logging("scheduler", settings.log_level, settings.log_format)
    setup_tracing("scheduler")
    serve(build_app(settings), settings)
