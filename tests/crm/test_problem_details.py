"""One error shape, described: the OpenAPI document gives every operation a summary and
describes its 4xx answers as RFC 9457 problem details; request bodies carry examples.
CORS is closed unless CORS_ORIGINS names the origin."""

from __future__ import annotations

from realtoros_crm.settings import CrmSettings
from tests.crm.helpers import Crm
from tests.crm.running import running_crm

# The routes of accounts and clients; the other teams' request bodies are theirs to document.
EXAMPLED = {"agents", "clients", "import and export"}


async def test_openapi_describes_problems_summaries_and_examples(crm: Crm) -> None:
    document = (await crm.http.get("/openapi.json")).json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["properties"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            mine = bool(EXAMPLED & set(operation.get("tags", [])))
            assert operation.get("description") or not mine, where
            errors = {c: r for c, r in operation["responses"].items() if c.startswith("4")}
            assert "4XX" in errors, where
            for code, response in errors.items():
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (where, code)
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body and mine:
                ref = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
                assert document["components"]["schemas"][ref].get("examples"), where


async def test_cors_is_closed_by_default(crm: Crm) -> None:
    preflight = await crm.http.options(
        "/clients",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_opens_only_to_the_configured_origins(
    crm_settings: CrmSettings, nats_client: object
) -> None:
    async with running_crm(crm_settings, cors_origins=["https://app.realtoros.example"]) as crm:
        allowed = await crm.http.options(
            "/clients",
            headers={
                "Origin": "https://app.realtoros.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert allowed.status_code == 200
        origin = allowed.headers["access-control-allow-origin"]
        assert origin == "https://app.realtoros.example"
        other = await crm.http.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
