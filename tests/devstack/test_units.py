"""The runner's pieces that need no server: configuration, secrets, environments, output."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from realtoros_devstack.database import asyncpg_url
from realtoros_devstack.kept_secrets import jwt_secret
from realtoros_devstack.runner import LineSplitter, Output, use_colour
from realtoros_devstack.stack import (
    SERVICES,
    ServiceSpec,
    SetupError,
    ensure_port_free,
    resolve_config,
    service_env,
)


def spec(name: str) -> ServiceSpec:
    return next(s for s in SERVICES if s.name == name)


def test_defaults_use_ports_that_leave_the_usual_servers_alone(tmp_path: Path) -> None:
    config = resolve_config({}, data_dir=tmp_path)
    assert (config.nats_port, config.pg_port) == (14222, 15432)
    assert dict(config.ports) == {"crm": 8000, "scheduler": 8001, "composer": 8002, "mailer": 8003}
    assert config.services == ("crm", "scheduler", "composer", "mailer")
    assert config.outbox_dir == tmp_path / "outbox"


def test_ports_and_data_dir_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "REALTOROS_DEV_NATS_PORT": "24222",
        "REALTOROS_DEV_PG_PORT": "25432",
        "REALTOROS_DEV_CRM_PORT": "9000",
        "REALTOROS_DEV_MAILER_PORT": "9003",
    }
    config = resolve_config(env)
    assert config.data_dir == tmp_path / ".data"
    assert (config.nats_port, config.pg_port) == (24222, 25432)
    assert config.port_of("crm") == 9000
    assert config.port_of("mailer") == 9003
    assert config.port_of("scheduler") == 8001
    assert resolve_config({"REALTOROS_DATA_DIR": "elsewhere"}).data_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("env", "only", "message"),
    [
        ({"REALTOROS_DEV_CRM_PORT": "http"}, (), "REALTOROS_DEV_CRM_PORT"),
        ({"REALTOROS_DEV_NATS_PORT": "70000"}, (), "REALTOROS_DEV_NATS_PORT"),
        ({}, ("crm", "billing"), "billing"),
    ],
)
def test_bad_configuration_is_named(
    tmp_path: Path, env: dict[str, str], only: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SetupError, match=message):
        resolve_config(env, data_dir=tmp_path, only=only)


def test_only_keeps_the_order_of_the_services(tmp_path: Path) -> None:
    config = resolve_config({}, data_dir=tmp_path, only=("mailer", "crm"))
    assert config.services == ("crm", "mailer")


def test_a_port_in_use_is_reported_with_its_variable() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SetupError, match="REALTOROS_DEV_CRM_PORT"):
            ensure_port_free(port, "REALTOROS_DEV_CRM_PORT")


def test_the_jwt_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    first = jwt_secret({}, secrets_dir)
    path = secrets_dir / "JWT_SECRET"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert jwt_secret({}, secrets_dir) == first
    assert jwt_secret({"JWT_SECRET": "from-the-environment"}, secrets_dir) == (
        "from-the-environment"
    )
    assert path.read_text().strip() == first


def test_each_service_gets_its_port_and_what_it_needs(tmp_path: Path) -> None:
    config = resolve_config({}, data_dir=tmp_path)
    env = {"PATH": "/bin", "HTTP_PORT": "1", "LOG_LEVEL": "DEBUG"}

    def env_of(name: str, env: dict[str, str]) -> dict[str, str]:
        return service_env(
            spec(name),
            config,
            env,
            nats_url="nats://127.0.0.1:14222",
            database_url="postgresql://db",
            jwt="k",
        )

    crm = env_of("crm", env)
    assert crm["HTTP_PORT"] == "8000"
    assert crm["HTTP_HOST"] == "127.0.0.1"
    assert crm["DATABASE_URL"] == "postgresql://db"
    assert crm["JWT_SECRET"] == "k"
    assert crm["NATS_URL"] == "nats://127.0.0.1:14222"
    assert crm["LOG_LEVEL"] == "DEBUG"  # the rest passes through
    assert crm["PATH"] == "/bin"
    assert crm["REALTOROS_DATA_DIR"] == str(tmp_path)
    mailer = env_of("mailer", env)
    assert mailer["HTTP_PORT"] == "8003"
    assert mailer["MAIL_TRANSPORT"] == "file"
    assert mailer["MAIL_OUTBOX_DIR"] == str(tmp_path / "outbox")
    assert "JWT_SECRET" not in mailer
    assert env_of("mailer", {**env, "MAIL_TRANSPORT": "ses"})["MAIL_TRANSPORT"] == "ses"
    assert "DATABASE_URL" not in env_of("scheduler", env)
    assert "MAIL_INBOUND_DOMAIN" not in mailer  # replies only with a reply secret
    replies = service_env(
        spec("mailer"), config, env, nats_url="n", database_url=None, jwt=None, reply_secret="r"
    )
    assert (replies["MAIL_INBOUND_DOMAIN"], replies["MAIL_REPLY_SECRET"]) == (
        "replies.localhost",
        "r",
    )
    assert replies["MAIL_INBOUND_SMTP_PORT"] == "2525"


def test_asyncpg_urls_name_no_driver() -> None:
    assert asyncpg_url("postgresql+asyncpg://u:p@h:1/d") == "postgresql://u:p@h:1/d"
    assert asyncpg_url("postgresql://h/d") == "postgresql://h/d"


def test_output_is_split_into_whole_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\ntw") == ["one"]
    assert splitter.feed(b"o\r\nthr") == ["two"]
    assert splitter.feed(b"\xff\n") == ["thr\ufffd"]
    assert splitter.feed(b"last") == []
    assert splitter.flush() == ["last"]
    assert splitter.flush() == []


def test_lines_are_prefixed_with_padded_names() -> None:
    stream = io.StringIO()
    output = Output(["crm", "scheduler"], colour=False, stream=stream)
    output.line("crm", "hello")
    output.line("scheduler", "tick")
    output.say("ready")
    assert stream.getvalue().splitlines() == [
        "crm       | hello",
        "scheduler | tick",
        "dev       | ready",
    ]


def test_names_are_coloured_only_when_asked_or_on_a_terminal() -> None:
    stream = io.StringIO()
    Output(["crm"], colour=True, stream=stream).line("crm", "hello")
    assert stream.getvalue() == "\x1b[36mcrm |\x1b[0m hello\n"
    assert not use_colour(io.StringIO(), {})
    assert use_colour(io.StringIO(), {}, "always")
    assert not use_colour(io.StringIO(), {"NO_COLOR": "1"}, "auto")
