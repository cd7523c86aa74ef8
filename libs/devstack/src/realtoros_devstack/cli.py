"""realtoros-dev: run RealtorOS on a developer's machine (`./dev run` calls `realtoros-dev run`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from realtoros_devstack import deadletters
from realtoros_devstack.run import run_stack
from realtoros_devstack.runner import Output, use_colour
from realtoros_devstack.stack import (
    DATABASE,
    DEFAULT_NATS_PORT,
    DEFAULT_PG_PORT,
    SERVICE_NAMES,
    SERVICES,
    SetupError,
    resolve_config,
)

RUN_HELP = f"""\
Start RealtorOS on this machine: NATS and PostgreSQL (embedded unless NATS_URL /
DATABASE_URL are set), the database and its migrations, then the four services as separate
processes with their output merged. Ctrl-C stops everything.

environment:
  NATS_URL, DATABASE_URL      use these servers instead of the embedded ones
  JWT_SECRET                  the CRM's token key (else generated once into
                              <data-dir>/secrets/JWT_SECRET)
  REALTOROS_DEV_NATS_PORT     embedded NATS port (default {DEFAULT_NATS_PORT})
  REALTOROS_DEV_PG_PORT       embedded PostgreSQL port (default {DEFAULT_PG_PORT})
  REALTOROS_DEV_<SERVICE>_PORT  HTTP port of a service
                              ({", ".join(f"{s.name} {s.default_port}" for s in SERVICES)})
  REALTOROS_DATA_DIR          default of --data-dir
  MAIL_TRANSPORT, MAIL_OUTBOX_DIR  the mailer's (default: file, <data-dir>/outbox)
Everything else in the environment is passed to the services unchanged.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realtoros-dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="start the whole system on its embedded default",
        description=RUN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the embedded servers, secrets and sent emails are kept "
        "(default: $REALTOROS_DATA_DIR or ./.data)",
    )
    run.add_argument(
        "--only",
        metavar="SERVICE[,SERVICE]",
        default="",
        help=f"run only these services (of {', '.join(SERVICE_NAMES)}); PostgreSQL and the "
        "migrations only when crm is one of them",
    )
    run.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="how long the services may take to become ready (default: 90)",
    )
    run.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the service names (default: when the output is a terminal)",
    )
    demo = commands.add_parser(
        "demo",
        help="fill a new account with demo clients, plans, drafts and emails",
        description="Create an account in the database of a running `./dev run` (or "
        "$DATABASE_URL) with realistic demo data at reserved example domains.",
    )
    demo.add_argument("--email", required=True, help="the new account's email address")
    demo.add_argument("--password", default="correct horse battery")
    deadletters.add_parser(commands)
    return parser


def run_demo(email: str, password: str, env: Mapping[str, str]) -> int:
    """``realtoros-crm demo`` against the dev stack's database (the embedded default)."""
    port = env.get("REALTOROS_DEV_PG_PORT") or str(DEFAULT_PG_PORT)
    url = env.get("DATABASE_URL") or f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    command = [sys.executable, "-m", "realtoros_crm", "demo", "--email", email]
    return subprocess.run(
        [*command, "--password", password], env={**env, "DATABASE_URL": url}, check=False
    ).returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "deadletters":
        return deadletters.run(args)
    if args.command == "demo":
        return run_demo(args.email, args.password, os.environ)
    env = dict(os.environ)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    try:
        config = resolve_config(
            env, data_dir=args.data_dir, only=only, ready_timeout=args.ready_timeout
        )
    except SetupError as exc:
        print(f"realtoros-dev: {exc}", file=sys.stderr)
        return 2
    output = Output([*config.services, "migrate"], colour=use_colour(sys.stdout, env, args.color))
    return asyncio.run(run_stack(config, env, output))


if __name__ == "__main__":
    raise SystemExit(main())
