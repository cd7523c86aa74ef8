"""NATS users with least privilege, as a nats-server ``authorization`` block.

Per namespace ``<ns>``:

* ``<ns>-<service>`` for each service: publishes only its own subjects
  (``<ns>.<service>.>`` and its dead-letter subject), manages the namespace's streams
  (whichever service starts first creates them), reads and acks through its durable
  consumers, uses its own KV buckets, and receives replies only on its own inbox prefix
  (``_INBOX_<ns>-<service>``: nobody else can read what a fetch delivers to it);
* ``<ns>-subscriber`` for other systems: reads the event streams through durable
  consumers of its own and nothing else: no publishing, no stream changes, no deletes,
  no dead letters, no KV, no other namespace, and never the services' own consumers;
* ``admin``: everything (operators and the test suite's clean-up).

Passwords are generated on this machine and kept outside the repository (see
:func:`ensure_passwords`). The block is a separate piece: any server start-up (one server,
or a cluster) includes it with ``-c``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from realtoros_contracts import Namespace, inbox_prefix
from realtoros_contracts.consumers import SERVICE_DURABLES

ADMIN = "admin"
PASSWORDS_FILE = "nats-users.json"
"""In the secrets dir (``.data/secrets``): every user's password, mode 0600."""
SUBSCRIBER = "subscriber"
SERVICE_BUCKETS: Mapping[str, tuple[str, ...]] = {
    "crm": (),
    "scheduler": ("leader",),
    "composer": ("rate_limits",),
    "mailer": ("send_ledger", "suppression", "sns_seen", "rate_limits", "reply_contexts"),
}
"""The KV buckets (``Namespace.bucket`` purposes) each service opens."""


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()


def user_name(ns: Namespace, role: str) -> str:
    return f"{ns.name}-{role}"


def _read_stream(stream: str) -> list[str]:
    """Look at a stream and read it through consumers: info, create, fetch, ack."""
    api = "$JS.API"
    return [
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"{api}.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"{api}.CONSUMER.INFO.{stream}.>",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
    ]


def _manage_stream(stream: str) -> list[str]:
    return [f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}"]


def _own_bucket(ns: Namespace, purpose: str) -> list[str]:
    bucket = ns.bucket(purpose)
    stream = f"KV_{bucket}"
    return [
        *_read_stream(stream),
        *_manage_stream(stream),
        f"$KV.{bucket}.>",
        f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def service_permissions(ns: Namespace, service: str) -> Permissions:
    streams = [spec.name for spec in ns.streams()]
    # STREAM.NAMES: nats-py looks a KV bucket's stream up by subject (names only).
    publish = [f"{ns.name}.{service}.>", ns.dead_letter_subject(service), "$JS.API.STREAM.NAMES"]
    for stream in streams:
        publish += _read_stream(stream) + _manage_stream(stream)
    for purpose in SERVICE_BUCKETS[service]:
        publish += _own_bucket(ns, purpose)
    return Permissions(
        publish=tuple(publish), subscribe=(f"{inbox_prefix(user_name(ns, service))}.>",)
    )


def subscriber_permissions(ns: Namespace) -> Permissions:
    """Read-only: the event streams (not dead letters), through consumers of its own."""
    streams = [spec.name for spec in ns.streams() if spec != ns.dead_letter_stream()]
    publish = [subject for stream in streams for subject in _read_stream(stream)]
    # The services' durables are theirs: creating one with another config would change
    # it, fetching from one would take the service's messages.
    durables = sorted({name for names in SERVICE_DURABLES.values() for name in names})
    deny = [
        subject
        for stream in streams
        for durable in durables
        for subject in (
            f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
            f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>",
        )
    ]
    return Permissions(
        publish=tuple(publish),
        subscribe=(f"{inbox_prefix(user_name(ns, SUBSCRIBER))}.>",),
        deny_publish=tuple(deny),
    )


def _user_block(name: str, password: str, permissions: Permissions | None) -> str:
    # "$NAME" unquoted: nats-server reads the variable from its environment.
    secret = password if password.startswith("$") else json.dumps(password)
    lines = [f"    {{ user: {json.dumps(name)}, password: {secret}"]
    if permissions is not None:
        publish = {"allow": list(permissions.publish)}
        if permissions.deny_publish:
            publish["deny"] = list(permissions.deny_publish)
        perms = {"publish": publish, "subscribe": {"allow": list(permissions.subscribe)}}
        lines.append(f"      permissions: {json.dumps(perms)}")
    lines.append("    }")
    return "\n".join(lines)


def roles(ns: Namespace) -> list[str]:
    return [*SERVICE_BUCKETS, SUBSCRIBER]


def authorization_block(namespaces: Iterable[Namespace], passwords: Mapping[str, str]) -> str:
    """The ``authorization { users = [...] }`` block; ``passwords`` by user name (a value
    may also be a ``$VARIABLE`` nats-server reads from its environment)."""
    users = [_user_block(ADMIN, passwords[ADMIN], None)]
    for ns in namespaces:
        for role in SERVICE_BUCKETS:
            name = user_name(ns, role)
            users.append(_user_block(name, passwords[name], service_permissions(ns, role)))
        name = user_name(ns, SUBSCRIBER)
        users.append(_user_block(name, passwords[name], subscriber_permissions(ns)))
    return "authorization {\n  users = [\n" + "\n".join(users) + "\n  ]\n}\n"


def user_names(namespaces: Iterable[Namespace]) -> list[str]:
    return [ADMIN, *(user_name(ns, role) for ns in namespaces for role in roles(ns))]


def ensure_passwords(path: Path, names: Iterable[str]) -> dict[str, str]:
    """Each user's password, generated on the first run and kept in ``path`` (mode 0600,
    under the data dir: never in the repository)."""
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in names if name not in known]
    if missing or not path.exists():
        known |= {name: secrets.token_urlsafe(24) for name in missing}
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(known, handle, indent=2)
    return known


def write_config(
    directory: Path, namespaces: Iterable[Namespace], passwords: Mapping[str, str]
) -> Path:
    """``<directory>/auth.conf`` (mode 0600: it holds the passwords)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "auth.conf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(authorization_block(namespaces, passwords))
    return path


def password_variable(user: str) -> str:
    """The environment variable the Kubernetes NATS pod gets a user's password in."""
    return "NATS_PASSWORD_" + user.upper().replace("-", "_")


def kubernetes_block(ns: Namespace) -> str:
    """deploy/k8s/base/nats/auth.conf: the users of ``ns`` with their passwords read from
    the server's environment (Key Vault on AKS); no secret in the file."""
    header = (
        "# Generated by `python -m realtoros_devstack.natsauth` (libs/devstack natsauth.py):\n"
        "# the NATS users and their permissions. Passwords come from the environment.\n"
    )
    variables = {name: f"${password_variable(name)}" for name in user_names([ns])}
    return header + authorization_block([ns], variables)


if __name__ == "__main__":
    print(kubernetes_block(Namespace()), end="")
