# syntax=docker/dockerfile:1
# One image per service, all from this template. Build from the repository ROOT (the
# workspace), naming the service (crm, scheduler, composer or mailer):
#   docker build --build-arg SERVICE=crm -t realtoros-crm .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# The uv that reads uv.lock (lock revision 5 needs a recent one; keep it in step with ./dev's).
FROM ghcr.io/astral-sh/uv:0.13 AS uv

# --- builder: the service's locked dependencies and itself, in /app/.venv -------------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, from the lock alone: this layer is rebuilt only when
# uv.lock changes. --frozen trusts the lock, so no member's pyproject.toml is needed yet.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<crm|scheduler|composer|mailer>" >&2; exit 1; } \
    && uv sync --frozen --no-dev --no-install-workspace --package realtoros-${SERVICE}
# Then the workspace packages this service needs (only those: --package), installed as
# wheels (--no-editable) so the runtime stage needs nothing but the venv.
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package realtoros-${SERVICE}

# --- runtime: slim Python, the venv, a non-root user -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
# -l: no lastlog entry (a high uid would otherwise make a huge sparse file, DL3046).
# The outbox directory is where the mailer's file transport writes (only the mailer uses it).
RUN groupadd --system --gid 10001 realtoros \
    && useradd --system -l --uid 10001 --gid 10001 --home-dir /nonexistent \
       --no-create-home --shell /usr/sbin/nologin realtoros \
    && mkdir -p /var/lib/realtoros/outbox \
    && chown 10001:10001 /var/lib/realtoros/outbox
# Owned by root: the service can read its code but not change it.
COPY --from=builder /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000 \
    MAIL_OUTBOX_DIR=/var/lib/realtoros/outbox \
    REALTOROS_SERVICE=${SERVICE}
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Liveness only (/readyz is for the orchestrator's traffic decisions); slim has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8000'), timeout=4)"]
# `python -m realtoros_<service>`, exec'd (it is PID 1 and gets the signals); arguments
# (the crm's `serve`, its default, or `migrate`) come from the container's command.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"realtoros_${REALTOROS_SERVICE}\" \"$@\"", "realtoros"]
