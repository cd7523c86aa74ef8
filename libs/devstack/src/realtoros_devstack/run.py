"""``realtoros-dev run``: start the servers, the database and the services, watch them,
and stop everything on Ctrl-C or when something dies."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping, Sequence

from realtoros_devstack.backends import Backends
from realtoros_devstack.database import ensure_database
from realtoros_devstack.kept_secrets import jwt_secret, kept_secret
from realtoros_devstack.natsauth import PASSWORDS_FILE
from realtoros_devstack.runner import (
    Child,
    ChildExited,
    Output,
    Stopped,
    describe_exit,
    first_exit,
    run_to_end,
    spawn,
    terminate,
    unless_stopped,
    wait_ready,
)
from realtoros_devstack.stack import DevConfig, SetupError, ensure_port_free, service_env


async def run_stack(config: DevConfig, env: Mapping[str, str], output: Output) -> int:
    """Start everything, wait until stopped or until something dies, stop everything."""
    stop, force = asyncio.Event(), asyncio.Event()
    _install_signal_handlers(stop, force, output)
    backends = Backends(config, env, output.say)
    children: list[Child] = []
    code = 0
    try:
        for spec in config.specs():
            ensure_port_free(config.port_of(spec.name), spec.port_variable)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(backends.start)
        if stop.is_set():
            raise Stopped
        jwt = await unless_stopped(_prepare_database(config, env, backends, output), stop)
        await _start_services(config, env, backends, jwt, output, children)
        await unless_stopped(
            wait_ready(children, _probe_host(env), config.ready_timeout, output), stop
        )
        output.block(_banner(config, env, backends))
        await unless_stopped(_watch(children, backends), stop)
    except Stopped:
        output.say("stopping")
    except (SetupError, ChildExited, TimeoutError) as exc:
        output.say(f"error: {exc}; stopping everything")
        code = 1
    finally:
        await terminate(children, config.stop_timeout, force)
        for child in children:
            if child.stopping:
                output.say(f"{child.name} {_how_it_stopped(child.proc.returncode)}")
        await asyncio.to_thread(backends.stop)
        _remove_signal_handlers()
    return code


async def _start_services(
    config: DevConfig,
    env: Mapping[str, str],
    backends: Backends,
    jwt: str | None,
    output: Output,
    children: list[Child],
) -> None:
    """Start each service as ``python -m realtoros_<service>`` (appended as it starts, so a
    failure part-way still stops those already running)."""
    replies = None
    if "mailer" in config.services:
        replies = kept_secret("MAIL_REPLY_SECRET", env, config.secrets_dir)
        if "MAIL_INBOUND_SMTP_PORT" not in env:
            port_variable = "REALTOROS_DEV_INBOUND_SMTP_PORT"
            ensure_port_free(config.inbound_smtp_port, port_variable, config.host)
    for spec in config.specs():
        child_env = service_env(
            spec,
            config,
            env,
            nats_url=backends.nats_url or "",
            database_url=backends.database_url,
            jwt=jwt,
            nats_credentials=backends.nats_credentials(spec.name),
            reply_secret=replies,
        )
        if spec.name == "crm":
            child_env.setdefault("PUBLIC_BASE_URL", _url(config, "crm"))
        args = (sys.executable, "-m", spec.module)
        port = config.port_of(spec.name)
        children.append(await spawn(spec.name, args, env=child_env, output=output, port=port))


async def _prepare_database(
    config: DevConfig, env: Mapping[str, str], backends: Backends, output: Output
) -> str | None:
    """Create the database, make the JWT secret, migrate; the secret (None without crm)."""
    if not backends.needs_database or backends.database_url is None:
        return None
    if await ensure_database(backends.database_url):
        output.say("created the database")
    secret = jwt_secret(env, config.secrets_dir)
    migrate_env = {**env, "DATABASE_URL": backends.database_url, "PYTHONUNBUFFERED": "1"}
    code = await run_to_end(
        "migrate",
        (sys.executable, "-m", "realtoros_crm", "migrate"),
        env=migrate_env,
        output=output,
    )
    if code != 0:
        raise SetupError(f"the migrations failed (exit code {code})")
    return secret


async def _watch(children: Sequence[Child], backends: Backends) -> None:
    """Return never while all is well; raise when a service or an embedded server dies."""
    while True:
        try:
            child = await asyncio.wait_for(first_exit(children), 1.0)
        except TimeoutError:
            if (problem := backends.dead()) is not None:
                raise SetupError(problem) from None
            continue
        raise ChildExited(child.name, child.proc.returncode)


def _banner(config: DevConfig, env: Mapping[str, str], backends: Backends) -> list[str]:
    lines = ["", "RealtorOS is running."]
    if "crm" in config.services:
        api = _url(config, "crm")
        lines.append(f"  Web app   {api}/app   (demo data: realtoros-dev demo --email …)")
        lines.append(f"  API       {api}   (docs: {api}/docs)")
    for spec in config.specs():
        if spec.name != "crm":
            lines.append(f"  {spec.name:<9} {_url(config, spec.name)}/readyz")
    if "mailer" in config.services:
        transport = env.get("MAIL_TRANSPORT", "file")
        if transport == "file":
            outbox = env.get("MAIL_OUTBOX_DIR", str(config.outbox_dir))
            lines.append(f"  Emails    written as .eml files to {outbox}")
        else:
            lines.append(f"  Emails    sent with MAIL_TRANSPORT={transport}")
        port = env.get("MAIL_INBOUND_SMTP_PORT", str(config.inbound_smtp_port))
        lines.append(f"  Replies   SMTP on {config.host}:{port} (reply to an email's Reply-To)")
    lines.append(f"  NATS      {backends.nats_url}")
    if (reader := backends.nats_credentials("subscriber")) is not None:
        lines.append(
            f"  Events    read-only NATS user {reader[0]} (password in "
            f"{config.secrets_dir / PASSWORDS_FILE}; docs/events.md)"
        )
    if backends.database_url:
        lines.append(f"  Database  {backends.database_url.split('@')[-1]}")
    lines += [f"  Data      {config.data_dir}", "Press Ctrl-C to stop.", ""]
    return lines


def _how_it_stopped(code: int | None) -> str:
    # uvicorn exits by re-raising the SIGTERM it handled gracefully.
    if code in (0, -signal.SIGTERM):
        return "stopped"
    if code == -signal.SIGKILL:
        return "killed (it did not stop in time)"
    return f"stopped ({describe_exit(code)})"


def _url(config: DevConfig, service: str) -> str:
    return f"http://127.0.0.1:{config.port_of(service)}"


def _probe_host(env: Mapping[str, str]) -> str:
    host = env.get("HTTP_HOST", "127.0.0.1")
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host


_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _install_signal_handlers(stop: asyncio.Event, force: asyncio.Event, output: Output) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            output.say(f"{sig.name}: stopping the services (again to kill them now)")
            stop.set()
        elif not force.is_set():
            output.say(f"{sig.name} again: killing")
            force.set()

    for sig in _SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)


def _remove_signal_handlers() -> None:
    loop = asyncio.get_running_loop()
    for sig in _SIGNALS:
        loop.remove_signal_handler(sig)
