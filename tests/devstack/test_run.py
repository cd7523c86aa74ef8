"""``realtoros-dev run`` as a real process: it starts the stack, says where it is, and stops
every process it started when asked to (or when one of them dies)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from realtoros_devstack.embedded import free_port
from realtoros_devstack.stack import SERVICES

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]

REPO = Path(__file__).resolve().parents[2]
DEV = Path(sys.executable).parent / "realtoros-dev"
API_LINE = re.compile(r"^\s*API\s+(http://127\.0\.0\.1:\d+)\s")


# --- the process tree -------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [state, ppid, ...]; comm may hold spaces


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- the runner -------------------------------------------------------------------------
class DevRun:
    """``realtoros-dev run`` with a data dir and ports of its own; output collected."""

    def __init__(self, data_dir: Path, *args: str, **env: str) -> None:
        self.ports = {s.name: free_port() for s in SERVICES}
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"NATS_URL", "DATABASE_URL", "JWT_SECRET", "REALTOROS_DATA_DIR"}
            and not key.startswith(("REALTOROS_DEV_", "MAIL_"))
        }
        self.env |= {f"REALTOROS_DEV_{name.upper()}_PORT": str(p) for name, p in self.ports.items()}
        self.env |= {
            "REALTOROS_DEV_NATS_PORT": str(free_port()),
            "REALTOROS_DEV_PG_PORT": str(free_port()),
            "REALTOROS_DEV_INBOUND_SMTP_PORT": str(free_port()),
            "REALTOROS_SECRETS_DIR": "/nonexistent",
            **env,
        }
        self.data_dir = data_dir
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [str(DEV), "run", "--data-dir", str(data_dir), "--color", "never", *args],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := pattern.search(line):
                    return match
            if self.proc.poll() is not None:
                self._reader.join(5)
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern.pattern!r}:\n{self.output()[-6000:]}")

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running after {timeout}s:\n{self.output()[-6000:]}"
            ) from None
        self._reader.join(5)
        return code

    def kill_tree(self) -> None:
        for pid in descendants(self.proc.pid) | {self.proc.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def dev_runs() -> Iterator[list[DevRun]]:
    runs: list[DevRun] = []
    yield runs
    for run in runs:
        if run.proc.poll() is None:
            run.kill_tree()


def assert_all_gone(pids: set[int], run: DevRun) -> None:
    left = {pid: cmdline(pid) for pid in pids if alive(pid)}
    assert not left, f"still running: {left}\n{run.output()[-4000:]}"


def services_exist() -> bool:
    return all(importlib.util.find_spec(f"realtoros_{s.name}.__main__") for s in SERVICES)


# --- the tests --------------------------------------------------------------------------
@pytest.mark.skipif(not services_exist(), reason="the four services are not all there yet")
def test_the_whole_system_starts_says_where_and_stops_on_ctrl_c(
    data_dir: Path, dev_runs: list[DevRun]
) -> None:
    data = data_dir
    run = DevRun(data)
    dev_runs.append(run)
    api = run.wait_for_line(API_LINE, 240).group(1)
    assert api == f"http://127.0.0.1:{run.ports['crm']}"
    assert httpx.get(f"{api}/healthz", timeout=5).status_code == 200
    for name, port in run.ports.items():
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 200, (name, response.text)
    assert f"{data / 'outbox'}" in run.output()
    secret = data / "secrets" / "JWT_SECRET"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # NATS runs with natsauth's users: every service ready above connected with its own.
    passwords = data / "secrets" / "nats-users.json"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert "read-only NATS user realtoros-subscriber" in run.output()
    started = descendants(run.proc.pid)
    commands = " ".join(cmdline(pid) for pid in started)
    for needle in ("nats-server", "postgres", *(f"realtoros_{s.name}" for s in SERVICES)):
        assert needle in commands

    run.proc.send_signal(signal.SIGINT)
    assert run.wait(60) == 0
    assert_all_gone(started, run)
    for name in ("crm", "scheduler", "composer", "mailer"):
        assert re.search(rf"^dev +\| {name} stopped$", run.output(), re.M), run.output()[-3000:]
    assert (data / "postgres" / "pgdata" / "PG_VERSION").is_file()
    assert (data / "nats" / "jetstream").is_dir()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_partial_stack_stops_every_process_it_started(
    tmp_path: Path, dev_runs: list[DevRun], sig: signal.Signals
) -> None:
    run = DevRun(tmp_path / "data", "--only", "scheduler", TICK_INTERVAL_SECONDS="0.2")
    dev_runs.append(run)
    run.wait_for_line(re.compile(r"^RealtorOS is running"), 60)
    port = run.ports["scheduler"]
    status = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).json()
    assert status["replica"]
    started = descendants(run.proc.pid)
    commands = [cmdline(pid) for pid in started]
    assert any("nats-server" in command for command in commands)
    assert any("realtoros_scheduler" in command for command in commands)
    assert not any("postgres" in command for command in commands)
    assert re.search(r"^scheduler \| .*Uvicorn running", run.output(), re.M)

    run.proc.send_signal(sig)
    assert run.wait(60) == 0
    assert_all_gone(started, run)
    assert re.search(r"^dev +\| scheduler stopped$", run.output(), re.M), run.output()


def test_a_service_that_dies_stops_everything_with_an_error(
    tmp_path: Path, dev_runs: list[DevRun]
) -> None:
    run = DevRun(tmp_path / "data", "--only", "scheduler")
    dev_runs.append(run)
    run.wait_for_line(re.compile(r"^RealtorOS is running"), 60)
    started = descendants(run.proc.pid)
    (scheduler,) = (pid for pid in started if "realtoros_scheduler" in cmdline(pid))
    os.kill(scheduler, signal.SIGKILL)

    assert run.wait(60) == 1
    assert_all_gone(started, run)
    assert "scheduler exited unexpectedly (killed by SIGKILL)" in run.output()


def test_a_service_that_cannot_start_is_reported(tmp_path: Path, dev_runs: list[DevRun]) -> None:
    run = DevRun(tmp_path / "data", "--only", "scheduler", TICK_INTERVAL_SECONDS="abc")
    dev_runs.append(run)
    assert run.wait(60) == 1
    output = run.output()
    assert re.search(r"^scheduler \| scheduler: bad setting TICK_INTERVAL_SECONDS", output, re.M)
    assert "scheduler exited unexpectedly (exit code 2)" in output
    assert "stopping NATS" in output


def test_a_port_in_use_is_reported_before_anything_starts(
    tmp_path: Path, dev_runs: list[DevRun]
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        run = DevRun(
            tmp_path / "data",
            "--only",
            "scheduler",
            REALTOROS_DEV_NATS_PORT=str(busy.getsockname()[1]),
        )
        dev_runs.append(run)
        assert run.wait(60) == 1
    assert "REALTOROS_DEV_NATS_PORT" in run.output()
    assert not (tmp_path / "data" / "nats").exists()


def test_help_documents_the_options() -> None:
    done = subprocess.run([str(DEV), "run", "--help"], capture_output=True, text=True, check=True)
    for option in ("--data-dir", "--only", "--ready-timeout", "NATS_URL", "REALTOROS_DEV_PG_PORT"):
        assert option in done.stdout
