"""``realtoros-mailer`` / ``python -m realtoros_mailer``: run the mailer worker."""

from __future__ import annotations

from realtoros_mailer.app import build_app
from realtoros_mailer.settings import MailerSettings
from realtoros_runtime.logs import configure_logging
from realtoros_runtime.settings import load_settings
from realtoros_runtime.telemetry import setup_tracing
from realtoros_runtime.worker import serve


def main() -> int:
    settings = load_settings(MailerSettings, "mailer")
    configure_logging("mailer", settings.log_level, settings.log_format)
    setup_tracing("mailer")
    serve(build_app(settings), settings)
    return 0
