"""SES receiving: a receipt rule's SNS action carries the raw MIME in ``content`` (choose
Base64 encoding: UTF8 may lose characters); mail over SNS's 150 KB goes through an S3
action instead (``bucketName``/``objectKey``), read here with aioboto3. The receipt's
verdicts (SPF, DKIM, DMARC, spam, virus) travel with the reply."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from realtoros_contracts import SenderVerdicts


class UnusableReceipt(ValueError):
    """The SES "Received" notification is not what SES sends."""


class S3Mail:
    """Reads the raw message an S3 action stored; one client for the process."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self.client: Any = None

    async def read(self, bucket: str, key: str) -> bytes:
        if self.client is None:
            raise UnusableReceipt("mail stored in S3, but no S3 client is configured")
        response = await self.client.get_object(Bucket=bucket, Key=key)
        if int(response.get("ContentLength") or 0) > self._max_bytes:
            raise UnusableReceipt(f"the stored message is over {self._max_bytes} bytes")
        body = response["Body"]
        async with body:  # releases the connection; the length was checked above
            data: bytes = await body.read()
        if len(data) > self._max_bytes:
            raise UnusableReceipt(f"the stored message is over {self._max_bytes} bytes")
        return data


def _status(receipt: dict[str, Any], name: str) -> str:
    verdict = receipt.get(name)
    return str(verdict.get("status", ""))[:40] if isinstance(verdict, dict) else ""


def verdicts_of(receipt: dict[str, Any]) -> SenderVerdicts:
    return SenderVerdicts(
        spf=_status(receipt, "spfVerdict"),
        dkim=_status(receipt, "dkimVerdict"),
        dmarc=_status(receipt, "dmarcVerdict"),
        spam=_status(receipt, "spamVerdict"),
        virus=_status(receipt, "virusVerdict"),
    )


def received_at(mail: dict[str, Any]) -> datetime:
    try:
        when = datetime.fromisoformat(str(mail.get("timestamp")).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def raw_message(notification: dict[str, Any], s3: S3Mail) -> bytes:
    receipt = notification.get("receipt")
    action = receipt.get("action") if isinstance(receipt, dict) else None
    if not isinstance(action, dict):
        raise UnusableReceipt("no receipt action")
    if action.get("type") == "S3":
        return await s3.read(str(action.get("bucketName")), str(action.get("objectKey")))
    content = notification.get("content")
    if not isinstance(content, str):
        raise UnusableReceipt("no content (is the receipt rule's action SNS?)")
    if str(action.get("encoding", "UTF8")).upper() == "BASE64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise UnusableReceipt("content is not Base64") from None
    return content.encode("utf-8", errors="replace")


def recipients_of(notification: dict[str, Any]) -> list[str]:
    receipt = notification.get("receipt") or {}
    recipients = receipt.get("recipients") if isinstance(receipt, dict) else None
    return [str(r)[:320] for r in recipients[:50]] if isinstance(recipients, list) else []
