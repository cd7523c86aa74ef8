"""The local transport: each email becomes ``<outbox>/<email_id>.eml`` (embedded mode)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from realtoros_mailer.message import Outgoing
from realtoros_mailer.transports import SendNotAttempted, TransportName


class FileTransport:
    """Writes the raw message atomically (a temporary file renamed into place), so a
    reader of the outbox never sees half a message."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    @property
    def name(self) -> TransportName:
        return "file"

    async def start(self) -> None:
        await asyncio.to_thread(self.outbox.mkdir, parents=True, exist_ok=True)

    def path_for(self, message: Outgoing) -> Path:
        return self.outbox / f"{message.email_id}.eml"

    async def send(self, message: Outgoing) -> str:
        try:
            await asyncio.to_thread(self._write, self.path_for(message), message.raw)
        except OSError as exc:
            # The rename is the send: before it nothing is in the outbox.
            raise SendNotAttempted(f"could not write to the outbox: {exc}") from exc
        return f"file:{message.email_id}"

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
