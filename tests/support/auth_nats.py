"""An embedded nats-server of the test's own, started with natsauth's users (never the
machine's shared server at 4222), and connections as one of those users."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from realtoros_contracts import Namespace, inbox_prefix
from realtoros_devstack import natsauth
from realtoros_devstack.embedded import EmbeddedNats


@dataclass
class AuthNats:
    """A server with the users of ``namespaces``; ``errors`` collects what it refused."""

    server: EmbeddedNats
    passwords: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def credentials(self, ns: Namespace, role: str) -> tuple[str, str]:
        name = natsauth.ADMIN if role == natsauth.ADMIN else natsauth.user_name(ns, role)
        return name, self.passwords[name]

    async def connect(self, ns: Namespace, role: str) -> NATS:
        user, password = self.credentials(ns, role)

        async def on_error(exc: Exception) -> None:
            self.errors.append(f"{user}: {exc}")

        return await nats.connect(
            self.url,
            user=user,
            password=password,
            inbox_prefix=inbox_prefix(user),
            error_cb=on_error,
            max_reconnect_attempts=2,
        )

    async def refused(self, user: str, what: str, timeout: float = 10.0) -> bool:
        """Whether the server reported a permissions violation of ``user`` naming ``what``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            # nats-py lower-cases the server's message.
            if any(
                e.startswith(f"{user}:") and "permissions violation" in e and what.lower() in e
                for e in self.errors
            ):
                return True
            await asyncio.sleep(0.05)
        return False


@contextmanager
def auth_nats(data_dir: Path, namespaces: Sequence[Namespace]) -> Iterator[AuthNats]:
    passwords = natsauth.ensure_passwords(
        data_dir / "secrets" / natsauth.PASSWORDS_FILE, natsauth.user_names(namespaces)
    )
    config = natsauth.write_config(data_dir, namespaces, passwords)
    server = EmbeddedNats(data_dir / "nats", config_file=config).start()
    try:
        yield AuthNats(server, passwords)
    finally:
        server.stop()
