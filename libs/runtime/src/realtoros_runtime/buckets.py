"""KV buckets created the one way: with the deployment's replica count, and brought up to
date when an older version created them differently (fewer replicas, no expiry).

A KV bucket is a JetStream stream named ``KV_<bucket>``. Its replica count, max age (the
bucket TTL) and duplicate window can change on a live stream, so a redeployment with
``JETSTREAM_REPLICAS=3`` or a new expiry migrates an existing bucket in place: JetStream
copies an R1 bucket to two more servers when told R3.

On a cluster that is electing (a service starting with it) the JetStream API answers
late or "not now": creating or binding is retried with backoff (``jetstream_ready``).
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError, BucketNotFoundError
from nats.js.kv import KeyValue

from realtoros_runtime.jetstream_ready import with_backoff

log = logging.getLogger(__name__)


async def ensure_bucket(
    js: JetStreamContext, config: KeyValueConfig, *, replicas: int, keep_ttl: bool = False
) -> KeyValue:
    """Bind to ``config.bucket``, creating it, or bringing an existing bucket's replicas
    (and TTL, unless ``keep_ttl``: the caller adopts the bucket's own) up to date; waits
    with backoff while JetStream cannot answer."""
    config.replicas = replicas
    return await with_backoff(
        lambda: _ensure(js, config, keep_ttl=keep_ttl), f"KV bucket {config.bucket}"
    )


async def _ensure(js: JetStreamContext, config: KeyValueConfig, *, keep_ttl: bool) -> KeyValue:
    try:
        kv = await js.key_value(config.bucket)
    except BucketNotFoundError:
        try:
            return await js.create_key_value(config)
        except BadRequestError:  # another replica created it in between
            kv = await js.key_value(config.bucket)
    await _bring_up_to_date(js, config, keep_ttl=keep_ttl)
    return kv


async def _bring_up_to_date(
    js: JetStreamContext, config: KeyValueConfig, *, keep_ttl: bool
) -> None:
    current = (await js.stream_info(f"KV_{config.bucket}")).config
    age = float(current.max_age or 0.0) if keep_ttl else float(config.ttl or 0.0)
    if current.num_replicas == config.replicas and float(current.max_age or 0.0) == age:
        return
    log.info(
        "bucket %s: replicas %s -> %s, max age %ss -> %ss",
        config.bucket,
        current.num_replicas,
        config.replicas,
        current.max_age,
        age,
    )
    current.num_replicas = config.replicas
    current.max_age = age
    if age and float(current.duplicate_window or 0.0) > age:
        current.duplicate_window = age  # the server refuses a window longer than the age
    await js.update_stream(current)
