"""Logging set-up: one line per record, plain text or one JSON object.

``LOG_FORMAT=text`` (the default, for a terminal: ``./dev run``) prefixes each line with
the service name. ``LOG_FORMAT=json`` (what the images and the cluster set) writes one
JSON object per line with ``time``, ``level``, ``service``, ``logger``, ``message`` and,
inside a span, ``trace_id`` and ``span_id`` (the ids Jaeger shows), plus ``exception``
when there is one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Literal

from realtoros_runtime.telemetry import current_ids

LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (ids := current_ids()) is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_format_from_env() -> LogFormat:
    return "json" if os.environ.get("LOG_FORMAT", "").strip().lower() == "json" else "text"


def configure_logging(service: str, level: str = "INFO", fmt: LogFormat | None = None) -> None:
    """Log to stderr in ``fmt`` (default: the ``LOG_FORMAT`` environment variable)."""
    handler = logging.StreamHandler(sys.stderr)
    if (fmt or log_format_from_env()) == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings as records too: one format for every line
    # faststream logs every message received/processed at INFO: too chatty under load.
    quiet = max(logging.WARNING, root.level)
    logging.getLogger("faststream").setLevel(quiet)
    logging.getLogger("faststream.access").setLevel(quiet)
    # faststream's loggers write through handlers of their own (not propagated): give them
    # ours, so their lines have this format too. The broker's access logger is made when
    # the broker starts, and keeps a stdout handler it finds there.
    framework = logging.getLogger("faststream")
    framework.handlers[:] = []
    framework.propagate = True
    access = logging.StreamHandler(sys.stdout)
    access.setFormatter(handler.formatter)
    access.setLevel(quiet)
    logging.getLogger("faststream.access.nats").handlers[:] = [access]
