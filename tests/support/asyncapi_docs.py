"""Every service's AsyncAPI document, built from the service's own composition root (no
server is contacted), and ``python -m tests.support.asyncapi_docs [dir]`` (``make
asyncapi``) writes them to docs/events/asyncapi/ for readers without a running system."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realtoros_composer.app import build_composer
from realtoros_composer.settings import ComposerSettings
from realtoros_crm.api.health import crm_asyncapi_document
from realtoros_crm.app import build_state
from realtoros_crm.clock import system_clock
from realtoros_crm.settings import CrmSettings
from realtoros_mailer.app import build_mailer
from realtoros_mailer.settings import MailerSettings
from realtoros_scheduler.app import build_app as build_scheduler
from realtoros_scheduler.settings import Settings as SchedulerSettings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "events" / "asyncapi"
DEV_NATS_URL = "nats://127.0.0.1:14222"  # ./dev run's embedded server


def _common(nats_url: str, namespace: str) -> dict[str, Any]:
    return {"nats_url": nats_url, "nats_namespace": namespace}


def _crm(common: dict[str, Any]) -> dict[str, Any]:
    settings = CrmSettings.model_validate(
        {
            **common,
            "database_url": "postgresql://postgres@127.0.0.1:15432/realtoros",
            "jwt_secret": "only-to-build-the-document-0123456789abcdef",
            "public_base_url": "http://127.0.0.1:8000",
        }
    )
    return crm_asyncapi_document(build_state(settings, system_clock).bus)


def _scheduler(common: dict[str, Any]) -> dict[str, Any]:
    app = build_scheduler(SchedulerSettings.model_validate(common))
    return app.schema.to_specification().to_jsonable()  # type: ignore[no-any-return]


def _composer(common: dict[str, Any]) -> dict[str, Any]:
    service = build_composer(ComposerSettings.model_validate(common))
    return service.app.schema.to_specification().to_jsonable()  # type: ignore[no-any-return]


def _mailer(common: dict[str, Any]) -> dict[str, Any]:
    mailer = build_mailer(MailerSettings.model_validate(common))
    return mailer.app.schema.to_specification().to_jsonable()  # type: ignore[no-any-return]


BUILDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "crm": _crm,
    "scheduler": _scheduler,
    "composer": _composer,
    "mailer": _mailer,
}


def service_documents(
    nats_url: str = DEV_NATS_URL, namespace: str = "realtoros"
) -> dict[str, dict[str, Any]]:
    common = _common(nats_url, namespace)
    return {name: build(common) for name, build in BUILDERS.items()}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else COMMITTED
    directory.mkdir(parents=True, exist_ok=True)
    for name, document in service_documents().items():
        path = directory / f"{name}.json"
        path.write_text(render(document))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
