"""Run RealtorOS services as real OS processes, the way they run in production (the
benchmarks and the tests alike)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from realtoros_devstack.embedded import free_port, stop_process

REPO = Path(__file__).resolve().parents[1]


class ServiceProcess:
    """``python -m realtoros_<service>`` with its own environment, HTTP port and log file."""

    def __init__(
        self,
        service: str,
        env: dict[str, str],
        log_dir: Path,
        *,
        name: str | None = None,
        port: int | None = None,
    ) -> None:
        self.service = service
        self.name = name or service
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": str(self.port),
            "REALTOROS_SECRETS_DIR": "/nonexistent",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = log_dir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, args: tuple[str, ...] = ()) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"realtoros_{self.service}", *args],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 30.0) -> ServiceProcess:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.logs()[-4000:]}"
                )
            try:
                response = httpx.get(f"{self.base_url}/readyz", timeout=1.0)
                if response.status_code == 200:
                    return self
                last = response.text
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready in {timeout}s ({last}):\n{self.logs()[-4000:]}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        stop_process(self.proc, sig, timeout)
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
