"""Schema-driven: schemathesis generates requests from the app's own OpenAPI document for
every operation (valid and invalid ones, with a signed-in agent) and runs them in-process
against the app on a real database. None may answer 5xx."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.python.asgi import ASGIClient

from realtoros_crm.app import build_app
from realtoros_crm.settings import CrmSettings

EXAMPLES = 3
"""Per operation: bounded so the test stays near a minute on a small machine."""


def _signed_in(client: ASGIClient) -> dict[str, str]:
    body = {"email": "fuzz@example.com", "password": "correct horse battery", "name": "Fuzz"}
    assert client.post("/auth/register", json=body).status_code == 201
    login = client.post("/auth/login", json={k: body[k] for k in ("email", "password")})
    client.post("/clients", json={"name": "Fuzzy", "email": "fuzzy@example.org"}, headers={
        "Authorization": f"Bearer {login.json()['access_token']}"
    })  # fmt: skip
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_no_request_gets_a_5xx(crm_settings: CrmSettings) -> None:
    app = build_app(crm_settings.model_copy(update={"login_max_failures_per_ip": 100_000}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    with ASGIClient(app) as client:  # type: ignore[arg-type]
        headers = _signed_in(client)
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                response = case.call(session=client, headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

            call()
    assert not failures, "\n".join(failures[:20])
