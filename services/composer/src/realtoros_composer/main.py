"""``realtoros-composer`` / ``python -m realtoros_composer``: run the composer worker."""

from __future__ import annotations

from realtoros_composer.settings import SERVICE, ComposerSettings
from realtoros_runtime.logs import configure_logging
from realtoros_runtime.settings import load_settings
from realtoros_runtime.telemetry import setup_tracing


def main() -> None:
    settings = load_settings(ComposerSettings, SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    setup_tracing(SERVICE)
    # Imported once the settings are known good: a bad setting is reported in a blink,
    # without first loading the SDK and the broker (seconds on a small machine).
    from realtoros_composer.app import build_composer
    from realtoros_runtime.worker import serve

    service = build_composer(settings)
    serve(service.app, settings)
