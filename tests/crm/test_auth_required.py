"""Every route needs a signed-in agent except the few public ones listed here: the routes
are enumerated, so a route added without authentication fails this test."""

from __future__ import annotations

import re
import uuid

from tests.crm.helpers import Crm

PUBLIC = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/metrics": "Prometheus scrape (cluster-internal)",
    "/asyncapi.json": "the AsyncAPI document",
    "/auth/register": "creating an account",
    "/auth/login": "signing in",
    "/auth/google": "signing in with Google",
    "/auth/refresh": "renewing a session with a refresh token",
    "/unsubscribe/{token}": "the client's unsubscribe page (the signed token is the credential)",
    "/openapi.json": "the OpenAPI document",
    "/docs": "Swagger UI",
    "/docs/oauth2-redirect": "Swagger UI",
    "/redoc": "ReDoc",
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def operations(crm: Crm) -> list[tuple[str, str]]:
    """(method, path) of every route: from the OpenAPI document, which FastAPI builds from
    every included router (``app.routes`` holds lazy router objects in FastAPI 0.16x)."""
    crm.app.openapi_schema = None
    paths = crm.app.openapi()["paths"]
    return [(method.upper(), path) for path, item in paths.items() for method in item]


async def test_every_other_route_requires_a_signed_in_agent(crm: Crm) -> None:
    checked = []
    for method, path in operations(crm):
        if path in PUBLIC:
            continue
        for headers in ({}, {"Authorization": "Bearer not.a.token"}):
            response = await crm.http.request(method, _concrete(path), headers=headers)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
        checked.append(f"{method} {path}")
    assert len(checked) > 15, checked


async def test_the_public_routes_exist(crm: Crm) -> None:
    paths = {path for _, path in operations(crm)}
    for path in ("/auth/login", "/auth/register", "/auth/refresh", "/auth/google", "/healthz"):
        assert path in paths
