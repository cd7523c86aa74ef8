"""``POST /ses/notifications``: SES event notifications delivered by Amazon SNS.

Every message is verified (see :mod:`realtoros_mailer.sns`) before anything happens; a
forged, unsigned or malformed one (not JSON, nested too deeply, fields of the wrong type)
gets a 4xx and changes nothing: SNS retries a 5xx for days, so only trouble on our side
may answer one. A subscription
confirmation is confirmed by GETting its SubscribeURL — only on the genuine SNS host. A
notification becomes a provider event (EmailDelivered, EmailBounced, …) published with
id ``ses:<SNS MessageId>``; hard bounces and complaints suppress the address. SNS
retries deliveries, so a MessageId already handled (KV bucket ``<ns>_sns_seen``, one day)
is acknowledged and dropped. Infrastructure trouble (NATS, the certificate host) is a 503,
for SNS to retry.

A ``Received`` notification (SES receiving: a client's reply) goes to the inbound intake
(:mod:`realtoros_mailer.inbound`), with the raw MIME from ``content`` or from S3.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from realtoros_contracts import Namespace
from realtoros_mailer.http import BodyTooLarge, Receive, Scope, Send, read_body, respond
from realtoros_mailer.inbound.intake import InboundIntake
from realtoros_mailer.inbound.ses import (
    S3Mail,
    UnusableReceipt,
    raw_message,
    received_at,
    recipients_of,
    verdicts_of,
)
from realtoros_mailer.metrics import MailerMetrics
from realtoros_mailer.ses_events import UnusableNotification, interpret
from realtoros_mailer.sns import SUBSCRIPTION_TYPES, CertificateUnavailable, NotTrusted, SnsVerifier
from realtoros_mailer.suppression import SuppressionSet
from realtoros_runtime.buckets import open_bucket
from realtoros_runtime.publisher import EventPublisher

log = logging.getLogger(__name__)

BODY_LIMIT = 256 * 1024
SEEN_TTL = 24 * 3600.0


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class NotificationReceiver:
    def __init__(
        self,
        *,
        ns: Namespace,
        publisher: EventPublisher,
        suppression: SuppressionSet,
        verifier: SnsVerifier,
        http: httpx.AsyncClient,
        metrics: MailerMetrics,
        topic_arns: list[str],
        inbound: tuple[InboundIntake, S3Mail] | None = None,
    ) -> None:
        self._inbound = inbound
        self._ns = ns
        self._publisher = publisher
        self._suppression = suppression
        self._verifier = verifier
        self._http = http
        self._metrics = metrics
        self._topics = set(topic_arns)
        self._seen: KeyValue | None = None

    async def open(self, js: JetStreamContext) -> None:
        self._seen = await open_bucket(
            js,
            self._ns.bucket("sns_seen"),
            "SNS message ids already handled (SNS redelivers).",
            replicas=self._ns.replicas,
            ttl=SEEN_TTL,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            await respond(send, 405, b"POST only\n")
            return
        try:
            message = await self._parse(receive)
            await self._verify(message)
            result = await self._handle(message)
        except Rejected as exc:
            self._metrics.notifications.labels("rejected").inc()
            log.warning("SNS message refused (%d): %s", exc.status, exc.reason)
            await respond(send, exc.status, f"{exc.reason}\n".encode())
            return
        except Exception:
            self._metrics.notifications.labels("error").inc()
            log.exception("SNS message could not be handled; SNS will retry")
            await respond(send, 503, b"temporarily unavailable\n")
            return
        self._metrics.notifications.labels(result).inc()
        await respond(send, 200, f"{result}\n".encode())

    async def _parse(self, receive: Receive) -> dict[str, Any]:
        try:
            body = await read_body(receive, BODY_LIMIT)
        except BodyTooLarge:
            raise Rejected(413, "the message is too large") from None
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: JSON nested deeper than the parser goes is not an SNS message
            raise Rejected(400, "the body is not JSON (or is nested too deeply)") from None
        if not isinstance(message, dict):
            raise Rejected(400, "the body is not a JSON object")
        return message

    async def _verify(self, message: dict[str, Any]) -> None:
        try:
            await self._verifier.verify(message)
        except NotTrusted as exc:
            raise Rejected(403, f"not a genuine SNS message: {exc}") from None
        except CertificateUnavailable as exc:
            raise RuntimeError(str(exc)) from exc
        if self._topics and message.get("TopicArn") not in self._topics:
            raise Rejected(403, "the message is from a topic this mailer does not accept")

    async def _handle(self, message: dict[str, Any]) -> str:
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            return await self._confirm(message)
        if kind in SUBSCRIPTION_TYPES:
            return "ignored"
        message_id = str(message["MessageId"])
        if await self._already_seen(message_id):
            return "duplicate"
        try:
            notification = json.loads(str(message["Message"]))
        except (ValueError, RecursionError):
            raise Rejected(400, "not a usable SES notification: not JSON") from None
        if isinstance(notification, dict) and notification.get("notificationType") == "Received":
            result = await self._receive_mail(notification)
            await self._mark_seen(message_id)
            return result
        try:
            outcome = interpret(notification)
        except (ValueError, RecursionError, UnusableNotification, ValidationError) as exc:
            reason = exc.error_count() if isinstance(exc, ValidationError) else exc
            raise Rejected(400, f"not a usable SES notification: {reason}") from None
        if outcome.event is not None:
            await self._publisher.publish(outcome.event, event_id=f"ses:{message_id}")
        for address, why in outcome.suppress:
            await self._suppression.add(address, why, f"SES {outcome.kind}")
        await self._mark_seen(message_id)
        return "published" if outcome.event is not None else "ignored"

    async def _receive_mail(self, notification: dict[str, Any]) -> str:
        if self._inbound is None:
            raise Rejected(400, "inbound mail is not configured (MAIL_INBOUND_DOMAIN)")
        intake, s3 = self._inbound
        try:
            raw = await raw_message(notification, s3)
        except UnusableReceipt as exc:
            raise Rejected(400, f"not a usable SES receipt: {exc}") from None
        mail = notification.get("mail")
        when = received_at(mail if isinstance(mail, dict) else {})
        receipt = notification.get("receipt")
        verdicts = verdicts_of(receipt if isinstance(receipt, dict) else {})
        return await intake.take(raw, recipients_of(notification), verdicts, when, door="ses")

    async def _confirm(self, message: dict[str, Any]) -> str:
        url = message.get("SubscribeURL")
        if not self._verifier.trusted_url(url):
            raise Rejected(403, "the SubscribeURL is not on the SNS host")
        response = await self._http.get(str(url), follow_redirects=False)
        response.raise_for_status()
        log.info("confirmed the SNS subscription to %s", message.get("TopicArn"))
        return "confirmed"

    async def _already_seen(self, message_id: str) -> bool:
        assert self._seen is not None, "the receiver is not open"
        try:
            await self._seen.get(_key(message_id))
        except KeyNotFoundError:
            return False
        return True

    async def _mark_seen(self, message_id: str) -> None:
        assert self._seen is not None, "the receiver is not open"
        await self._seen.put(_key(message_id), b"1")


def _key(message_id: str) -> str:
    # KV keys allow [-/_=.a-zA-Z0-9]; SNS message ids are UUIDs, but keep it safe.
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in message_id)[:200]
