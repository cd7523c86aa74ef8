"""Child processes for ``realtoros-dev run``: merged output with each line prefixed by the
process's name, readiness probes, and an orderly stop (SIGTERM, a grace period, SIGKILL).

Each child runs in a session (process group) of its own, so a Ctrl-C in the terminal
reaches only the runner, which then stops the children in order; signalling the group also
reaches anything a child started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93")


class Stopped(Exception):
    """The developer asked the runner to stop (SIGINT, SIGTERM or SIGHUP)."""


class ChildExited(Exception):
    def __init__(self, name: str, code: int | None) -> None:
        super().__init__(f"{name} exited unexpectedly ({describe_exit(code)})")
        self.name = name
        self.code = code


def use_colour(stream: TextIO, env: Mapping[str, str], mode: str = "auto") -> bool:
    if mode != "auto":
        return mode == "always"
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return stream.isatty()


class Output:
    """Writes lines as ``name      | text``: names padded to one width, coloured on a TTY."""

    def __init__(self, names: Sequence[str], *, colour: bool, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._colour = colour
        self._width = max((len(name) for name in (*names, "dev")), default=3)
        self._colours = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(names)}

    def prefix(self, name: str) -> str:
        label = f"{name:<{self._width}} |"
        if not self._colour:
            return label
        code = "1" if name == "dev" else self._colours.get(name, "37")
        return f"\x1b[{code}m{label}\x1b[0m"

    def line(self, name: str, text: str) -> None:
        self._write(f"{self.prefix(name)} {text}\n")

    def say(self, text: str) -> None:
        """The runner's own messages."""
        self.line("dev", text)

    def block(self, lines: Sequence[str]) -> None:
        """Unprefixed lines (the banner)."""
        self._write("\n".join(lines) + "\n")

    def _write(self, text: str) -> None:
        # A closed stdout (``realtoros-dev run | head``) must not stop the children's
        # output from being drained, or they would block on a full pipe.
        with contextlib.suppress(OSError, ValueError):
            self._stream.write(text)
            self._stream.flush()


class LineSplitter:
    """Turns chunks of bytes into complete lines (a child's output arrives in pieces)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [_decode(line) for line in lines]

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, b""
        return [_decode(rest)] if rest else []


def _decode(line: bytes) -> str:
    return line.rstrip(b"\r").decode("utf-8", errors="replace")


@dataclass
class Child:
    name: str
    proc: asyncio.subprocess.Process
    reader: asyncio.Task[None]
    port: int | None = None
    stopping: bool = field(default=False)

    @property
    def exited(self) -> bool:
        return self.proc.returncode is not None


async def spawn(
    name: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    output: Output,
    cwd: Path | None = None,
    port: int | None = None,
) -> Child:
    proc = await asyncio.create_subprocess_exec(
        *args,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    reader = asyncio.create_task(_pump(proc.stdout, name, output), name=f"output-{name}")
    return Child(name=name, proc=proc, reader=reader, port=port)


async def _pump(stream: asyncio.StreamReader, name: str, output: Output) -> None:
    splitter = LineSplitter()
    while chunk := await stream.read(65536):
        for line in splitter.feed(chunk):
            output.line(name, line)
    for line in splitter.flush():
        output.line(name, line)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate(
    children: Sequence[Child], timeout: float, force: asyncio.Event | None = None
) -> None:
    """SIGTERM every child's process group, wait up to ``timeout`` (less when ``force`` is
    set: a second Ctrl-C), then SIGKILL whatever is left."""
    running = [child for child in children if not child.exited]
    for child in running:
        child.stopping = True
        _signal_group(child.proc.pid, signal.SIGTERM)
    if running:
        waits = asyncio.gather(*(child.proc.wait() for child in running))
        waiters: set[asyncio.Future[Any]] = {waits}
        if force is not None:
            waiters.add(asyncio.ensure_future(force.wait()))
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters - {waits}:
            waiter.cancel()
    for child in children:
        # The leader may be gone while something it started lingers in its group.
        _signal_group(child.proc.pid, signal.SIGKILL)
    for child in children:
        await child.proc.wait()
    readers = [child.reader for child in children]
    if readers:
        _, late = await asyncio.wait(readers, timeout=2.0)
        for reader in late:
            reader.cancel()


async def run_to_end(
    name: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    output: Output,
    cwd: Path | None = None,
    stop_timeout: float = 10.0,
) -> int:
    """Run a one-off command (the migrations) with prefixed output; stopped if cancelled."""
    child = await spawn(name, args, env=env, output=output, cwd=cwd)
    try:
        code = await child.proc.wait()
        await child.reader
        return code
    finally:
        if not child.exited:
            await asyncio.shield(terminate([child], stop_timeout))


async def http_ok(host: str, port: int, path: str, timeout: float = 2.0) -> bool:
    """True when ``GET path`` answers 200 (plain HTTP/1.0: no client library needed)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status.split()
    return len(parts) >= 2 and parts[1] == b"200"


async def wait_ready(children: Sequence[Child], host: str, timeout: float, output: Output) -> None:
    """Poll each child's ``/readyz`` until all answer 200; raise :class:`ChildExited` if one
    exits first and :class:`TimeoutError` naming those not ready in time."""
    pending = [child for child in children if child.port is not None]
    deadline = time.monotonic() + timeout
    while pending:
        for child in list(pending):
            if child.exited:
                raise ChildExited(child.name, child.proc.returncode)
            assert child.port is not None
            if await http_ok(host, child.port, "/readyz"):
                pending.remove(child)
                output.say(f"{child.name} is ready on port {child.port}")
        if pending and time.monotonic() > deadline:
            names = ", ".join(child.name for child in pending)
            raise TimeoutError(f"not ready after {timeout:.0f}s: {names}")
        if pending:
            await asyncio.sleep(0.25)


async def first_exit(children: Sequence[Child]) -> Child:
    """The first child to exit (services are meant to run until stopped)."""
    waits = {asyncio.ensure_future(child.proc.wait()): child for child in children}
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
    return waits[next(iter(done))]


async def unless_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> T:
    """Await ``awaitable`` unless ``stop`` is set first: then cancel it, raise Stopped."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise Stopped
