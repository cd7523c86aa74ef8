"""The namespace's JetStream streams: their server config, created or brought up to date
by whichever service connects first."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from realtoros_contracts import Namespace, StreamSpec


def stream_config(spec: StreamSpec) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=float(spec.max_age_seconds),
        duplicate_window=float(spec.duplicate_window_seconds),
        num_replicas=spec.replicas,
        max_msgs=spec.max_messages,
        max_bytes=spec.max_bytes,
        discard=DiscardPolicy.OLD,
    )


async def ensure_streams(js: JetStreamContext, ns: Namespace) -> None:
    """Create every stream of the namespace, or bring its config up to date (idempotent:
    whichever service starts first creates them). A changed replica count is applied by
    the update too: JetStream copies an R1 stream to three servers when told R3."""
    for spec in ns.streams():
        config = stream_config(spec)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:  # another service created it in between
                pass
        await js.update_stream(config)
