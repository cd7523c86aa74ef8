"""An embedded JetStream cluster: three ``nats-server`` processes from the wheel on
loopback ports, each with its own store and a route to the others.

For tests of what a production cluster promises (a stream at replicas 3 survives a lost
server; a quorum of two keeps writing). Each server can be killed and started again on
the same ports and store. Kept apart from :mod:`realtoros_devstack.embedded`'s single
server, which ``./dev run`` uses.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.api import StreamConfig

from realtoros_devstack.embedded import (
    free_port,
    nats_server_binary,
    stop_process,
    wait_for_port,
)

CLUSTER_NAME = "realtoros"
PROBE = "CLUSTER_FORMED_PROBE"


class ClusterServer:
    """One server of the cluster: its client, route and monitoring ports and its store."""

    def __init__(self, name: str, data_dir: Path, routes: list[int]) -> None:
        self.name = name
        self.data_dir = data_dir
        self.port = free_port()
        self.route_port = free_port()
        self.http_port = free_port()
        self.peers = routes
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def args(self) -> list[str]:
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.peers)
        return [
            nats_server_binary(),
            "-js",
            "-sd", str(self.data_dir / "jetstream"),
            "--name", self.name,
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-m", str(self.http_port),
            "--cluster_name", CLUSTER_NAME,
            "--cluster", f"nats://127.0.0.1:{self.route_port}",
            "--routes", routes,
            "-l", str(self.data_dir / "nats-server.log"),
        ]  # fmt: skip

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, timeout, self.proc)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        stop_process(self.proc, sig, timeout)
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def monitor(self, path: str) -> Any:
        """A JSON page of the monitoring port (``jsz``, ``routez`` …)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/{path}", timeout=5) as r:
            return json.load(r)


class EmbeddedNatsCluster:
    """Three (or ``size``) routed servers with JetStream; ``url`` lists them all."""

    def __init__(self, data_dir: Path, size: int = 3) -> None:
        self.data_dir = data_dir
        self.servers: list[ClusterServer] = []
        names = [f"n{i + 1}" for i in range(size)]
        for name in names:
            self.servers.append(ClusterServer(name, data_dir / name, routes=[]))
        for server in self.servers:
            server.peers = [s.route_port for s in self.servers if s is not server]

    @property
    def url(self) -> str:
        """Every server's URL, comma-separated, as ``NATS_URL`` takes them."""
        return ",".join(server.url for server in self.servers)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def server(self, name: str) -> ClusterServer:
        return next(server for server in self.servers if server.name == name)

    def start(self, timeout: float = 30.0) -> EmbeddedNatsCluster:
        for server in self.servers:
            server.start(timeout)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    async def wait_until_formed(self, timeout: float = 60.0) -> None:
        """Until a stream at replicas 3 can be placed: a meta leader is elected and every
        server has joined (services started earlier would fail to create their streams)."""
        nc = await nats.connect(self.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    await js.add_stream(StreamConfig(name=PROBE, subjects=[PROBE], num_replicas=3))
                    await js.delete_stream(PROBE)
                    return
                except (NatsError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"no JetStream cluster within {timeout}s") from None
                    await asyncio.sleep(0.5)
        finally:
            await nc.close()
