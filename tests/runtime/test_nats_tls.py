"""A service reaches a NATS server that requires TLS and its users (as on Kubernetes),
verifying the server against ``NATS_TLS_CA``; without the CA it does not connect."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from pydantic_core import Url

from realtoros_contracts import Namespace, TaskDue
from realtoros_devstack import natsauth
from realtoros_devstack.embedded import EmbeddedNats
from realtoros_runtime.bus import build_bus
from realtoros_runtime.settings import ServiceSettings
from tests.support.samples import sample

NS = Namespace("tls_check")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> None:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
            "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=nats", "-keyout", "server.key",
            "-out", "server.csr", cwd=directory)  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
            cwd=directory)  # fmt: skip


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("nats-tls")
    make_certificates(directory)
    return directory


@pytest.fixture(scope="module")
def tls_server(certificates: Path) -> Iterator[tuple[EmbeddedNats, dict[str, str]]]:
    tmp_path = certificates
    passwords = natsauth.ensure_passwords(tmp_path / "users.json", natsauth.user_names([NS]))
    natsauth.write_config(tmp_path, [NS], passwords)
    config = tmp_path / "nats.conf"
    config.write_text(
        "include auth.conf\n"
        f'tls {{ cert_file: "{tmp_path / "server.pem"}", key_file: "{tmp_path / "server.key"}" }}\n'
    )
    server = EmbeddedNats(tmp_path / "nats", config_file=config).start()
    try:
        yield server, passwords
    finally:
        server.stop()


def crm_settings(server: EmbeddedNats, password: str, ca: str | None) -> ServiceSettings:
    return ServiceSettings.model_validate(
        {
            "nats_url": [Url(f"tls://127.0.0.1:{server.port}")],
            "nats_namespace": NS.name,
            "nats_user": natsauth.user_name(NS, "crm"),
            "nats_password": password,
            "nats_tls_ca": ca,
        }
    )


async def test_a_service_publishes_over_tls_verified_with_its_ca(
    tls_server: tuple[EmbeddedNats, dict[str, str]], certificates: Path
) -> None:
    server, passwords = tls_server
    ca = (certificates / "ca.pem").read_text()
    bus = build_bus("crm", crm_settings(server, passwords[natsauth.user_name(NS, "crm")], ca))
    await bus.connect()
    try:
        task_due = sample(TaskDue)
        ack = await bus.publisher.publish(task_due, event_id="tls-check")
        assert ack.stream == NS.stream_name("crm")
    finally:
        await bus.broker.stop()


async def test_the_server_is_not_trusted_without_its_ca(
    tls_server: tuple[EmbeddedNats, dict[str, str]],
) -> None:
    server, passwords = tls_server
    user = natsauth.user_name(NS, "crm")
    with pytest.raises(ssl.SSLCertVerificationError):
        await nats.connect(
            f"tls://127.0.0.1:{server.port}",
            user=user,
            password=passwords[user],
            tls=ssl.create_default_context(),  # the system's CAs only
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )
