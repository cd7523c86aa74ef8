"""``python -m realtoros_crm`` serves the API, the consumers and the relay, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from realtoros_contracts import Namespace
from tests.support.processes import ServiceProcess


@pytest.mark.e2e  # a real process: seconds of imports and start-up
def test_the_service_process_serves_and_stops_cleanly(
    database_url: str, nats_url: str, namespace: Namespace, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "NATS_NAMESPACE": namespace.name,
        "JWT_SECRET": "process-test-jwt-secret-0123456789abcdef",
    }
    crm = ServiceProcess("crm", env, tmp_path).start()
    try:
        crm.wait_ready(timeout=30)
        response = httpx.post(
            f"{crm.base_url}/auth/register",
            json={"email": "p@example.com", "password": "long enough", "name": "P"},
        )
        assert response.status_code == 201, response.text
        assert httpx.get(f"{crm.base_url}/openapi.json").json()["info"]["title"] == "RealtorOS CRM"
    finally:
        code = crm.stop(signal.SIGTERM, timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert code in (0, -signal.SIGTERM), crm.logs()[-3000:]
    assert "Application shutdown complete." in crm.logs()
    assert "process-test-jwt-secret" not in crm.logs()
