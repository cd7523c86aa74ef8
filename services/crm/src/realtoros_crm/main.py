"""``realtoros-crm`` / ``python -m realtoros_crm``: ``serve`` (the default), ``migrate``,
``demo`` or ``webhook-schemas``."""

from __future__ import annotations

import argparse

from realtoros_runtime.logs import configure_logging
from realtoros_runtime.settings import load_settings
from realtoros_runtime.telemetry import setup_tracing

SERVICE = "crm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="realtoros-crm", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the API, the consumers and the outbox relay (default)")
    sub.add_parser("migrate", help="upgrade the database schema to the latest revision")
    demo = sub.add_parser("demo", help="create an account filled with demo clients and emails")
    demo.add_argument("--email", required=True, help="the new account's email address")
    demo.add_argument("--password", default="correct horse battery", help="its password")
    schemas = sub.add_parser("webhook-schemas", help="write the webhook payloads' JSON Schemas")
    schemas.add_argument("directory", help="e.g. docs/events/webhooks")
    args = parser.parse_args(argv)
    if args.command == "webhook-schemas":
        return _webhook_schemas(args.directory)
    if args.command == "migrate":
        return _migrate()
    if args.command == "demo":
        return _demo(args.email, args.password)
    return _serve()


def _migrate() -> int:
    from realtoros_crm.migrate import upgrade
    from realtoros_crm.settings import DatabaseSettings

    settings = load_settings(DatabaseSettings, SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    upgrade(settings.database_url)
    return 0


def _demo(email: str, password: str) -> int:
    import asyncio

    from realtoros_crm.demo import run_demo
    from realtoros_crm.settings import DatabaseSettings

    settings = load_settings(DatabaseSettings, SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return asyncio.run(run_demo(settings.database_url, email, password))


def _webhook_schemas(directory: str) -> int:
    import json
    from pathlib import Path

    from realtoros_crm.webhooks.catalogue import webhook_schemas

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in webhook_schemas().items():
        (target / f"{name}.json").write_text(json.dumps(schema, indent=2) + "\n")
        print(target / f"{name}.json")
    return 0


def _serve() -> int:
    from realtoros_crm.settings import CrmSettings

    settings = load_settings(CrmSettings, SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    setup_tracing(SERVICE)
    # Imported once the settings are known good: a bad value fails fast.
    from realtoros_crm.app import build_app
    from realtoros_runtime.worker import serve

    serve(build_app(settings), settings)
    return 0
