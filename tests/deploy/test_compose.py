"""docker-compose.yml: valid against the Compose specification's schema, wired in the
right order (postgres -> migrate -> crm), and every service starts with settings it
accepts; .env.example documents every setting; the collector's pipelines hold together."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.settings_names import settings_problems, unknown
from tests.deploy.tools import REPO, SERVICES, load_yaml, run, tool

COMPOSE = REPO / "docker-compose.yml"
_DEFAULT = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def services() -> dict[str, Any]:
    result: dict[str, Any] = compose()["services"]
    return result


def interpolate(value: str) -> str:
    """What compose makes of a value with no .env and an empty shell environment."""
    return _DEFAULT.sub(lambda m: m.group(2) or "", value)


def environment(service: str) -> dict[str, str]:
    """A container's environment with compose's defaults; keys without a value (taken
    from .env when set there) are left out, as compose does when they are unset."""
    env = services()[service].get("environment", {})
    assert isinstance(env, dict), f"{service}: use the mapping form of environment"
    return {k: interpolate(str(v)) for k, v in env.items() if v is not None}


def test_compose_file_matches_the_compose_schema() -> None:
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_compose_schema_check_does_refuse_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text(
        yaml.safe_dump({"services": {"crm": {"image": "x", "depends_on": {"db": "healthy"}}}})
    )
    done = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", broken)
    assert done.returncode != 0


def test_start_order_postgres_then_migrate_then_crm() -> None:
    svc = services()
    assert svc["postgres"]["image"].startswith("postgres:16")
    assert "healthcheck" in svc["postgres"]
    assert "pg_isready" in str(svc["postgres"]["healthcheck"])
    migrate = svc["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["build"]["dockerfile"] == "Dockerfile"
    assert migrate["build"]["args"] == {"SERVICE": "crm"}
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"
    crm = svc["crm"]["depends_on"]
    assert crm["migrate"]["condition"] == "service_completed_successfully"
    assert "nats" in crm


def test_nats_runs_jetstream_on_a_volume_with_monitoring() -> None:
    nats = services()["nats"]
    assert nats["image"].startswith("nats:2.11")
    command = nats["command"]
    assert command[command.index("-sd") + 1] == "/data"
    assert "-js" in command
    assert command[command.index("-m") + 1] == "8222"
    volumes = [str(v) for v in nats["volumes"]]
    assert any(v.endswith(":/data") and v.split(":")[0] in compose()["volumes"] for v in volumes)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_built_from_the_root_with_its_dockerfile(service: str) -> None:
    build = services()[service]["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "Dockerfile"
    assert build["args"] == {"SERVICE": service}
    assert (REPO / build["dockerfile"]).is_file()


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_starts_with_settings_it_accepts(service: str) -> None:
    env = environment(service)
    assert env["NATS_URL"] == "nats://nats:4222"
    assert env["HTTP_HOST"] == "0.0.0.0"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"  # OTLP/HTTP
    names = set(services()[service]["environment"])
    assert unknown(service, names) == [], "variables the service would ignore"
    assert settings_problems(service, env) == []


def test_the_migration_starts_with_settings_it_accepts() -> None:
    env = environment("migrate")
    assert env["DATABASE_URL"].startswith("postgresql://realtoros:")
    assert "@postgres:5432/realtoros" in env["DATABASE_URL"]


def test_scheduler_runs_two_replicas_to_show_the_leader_election() -> None:
    scheduler = services()["scheduler"]
    assert scheduler["deploy"]["replicas"] == 2
    assert "ports" not in scheduler, "two replicas cannot share a host port"


def test_mailer_writes_files_to_a_volume_and_mailpit_waits_for_smtp() -> None:
    svc = services()
    env = environment("mailer")
    assert env["MAIL_TRANSPORT"] == "file"
    mounts = [str(v).split(":") for v in svc["mailer"]["volumes"]]
    assert [m[0] for m in mounts if m[1] == env["MAIL_OUTBOX_DIR"]] == ["outbox"]
    assert "outbox" in compose()["volumes"]
    assert svc["mailpit"]["image"].startswith("axllent/mailpit")
    assert svc["mailpit"]["profiles"] == ["smtp"]


def test_every_named_volume_and_dependency_exists() -> None:
    declared = set(compose()["volumes"])
    svc = services()
    for name, spec in svc.items():
        for volume in spec.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
            else:
                assert (REPO / source).exists(), f"{name}: {source} does not exist"
        for dependency in spec.get("depends_on", {}):
            assert dependency in svc, f"{name} depends on an unknown {dependency}"


def test_published_ports_listen_on_loopback_only() -> None:
    for name, spec in services().items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is open to the network"


def test_collector_pipelines_use_defined_components_and_send_traces_to_jaeger() -> None:
    config = load_yaml(REPO / "deploy" / "otel" / "collector.yaml")
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{component} is not defined in {kind}"
    assert "otlp" in pipelines["traces"]["receivers"]
    jaeger = [e for e in pipelines["traces"]["exporters"] if e.startswith("otlp")]
    assert jaeger
    assert config["exporters"][jaeger[0]]["endpoint"] == "jaeger:4317"
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    assert "jaeger" in services()
    assert services()["jaeger"]["image"].startswith("jaegertracing/")


# --- .env.example -----------------------------------------------------------------------

REQUIRED = {
    "common": "NATS_URL NATS_NAMESPACE HTTP_HOST HTTP_PORT LOG_LEVEL MAX_DELIVERIES "
    "REALTOROS_SECRETS_DIR",
    "crm": "DATABASE_URL JWT_SECRET JWT_TTL_MINUTES PUBLIC_BASE_URL CORS_ORIGINS CLAIM_BATCH_SIZE",
    "scheduler": "TICK_INTERVAL_SECONDS SCHEDULES LEASE_TTL_SECONDS REPLICA_ID",
    "composer": "COMPOSER_MODE OPENAI_API_KEY OPENAI_BASE_URL OPENAI_MODEL "
    "LLM_TIMEOUT_SECONDS LLM_MAX_RETRIES LLM_MAX_CONCURRENCY",
    "mailer": "MAIL_TRANSPORT MAIL_OUTBOX_DIR AWS_REGION AWS_ACCESS_KEY_ID "
    "AWS_SECRET_ACCESS_KEY SES_ENDPOINT_URL SES_FROM_ADDRESS SES_CONFIGURATION_SET",
}


def env_example() -> dict[str, tuple[str, str]]:
    """NAME -> (example value, the comment line above it)."""
    lines = (REPO / ".env.example").read_text().splitlines()
    found: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines):
        match = re.fullmatch(r"#?([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            comment = lines[i - 1] if i else ""
            found[match.group(1)] = (match.group(2), comment)
    return found


def test_env_example_documents_every_setting_with_a_comment() -> None:
    documented = env_example()
    for group, names in REQUIRED.items():
        for name in names.split():
            assert name in documented, f"{group}: {name} is missing from .env.example"
            comment = documented[name][1]
            assert comment.startswith("# "), f"{name}: no comment above it"
            assert len(comment) > 10, f"{name}: an empty comment"
    in_compose = {n for s in SERVICES for n in services()[s]["environment"]}
    assert sorted(in_compose - set(documented) - {"OTEL_SERVICE_NAME"}) == []


def test_env_example_names_are_real_settings() -> None:
    not_a_service_setting = {"POSTGRES_PASSWORD"}  # compose's postgres container
    for name in env_example():
        if name not in not_a_service_setting:
            assert any(not unknown(s, [name]) for s in SERVICES), f"{name}: nobody reads it"


def test_env_example_holds_no_real_secret() -> None:
    text = (REPO / ".env.example").read_text()
    assert not re.search(r"sk-[A-Za-z0-9]{20,}", text), "an OpenAI-like key"
    assert not re.search(r"AKIA[0-9A-Z]{16}", text.replace("AKIAEXAMPLEEXAMPLE00", ""))
    values = env_example()
    assert "dev-only" in values["JWT_SECRET"][0]
    assert "example" in values["AWS_SECRET_ACCESS_KEY"][0]
