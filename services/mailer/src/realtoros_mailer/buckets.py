"""Opening the mailer's NATS KV buckets: create, or bind to the one that exists."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue


async def open_bucket(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    """Idempotent: a bucket that exists (perhaps created by an older version with another
    config) is used as it is."""
    try:
        return await js.create_key_value(config)
    except BadRequestError:
        return await js.key_value(config.bucket)
