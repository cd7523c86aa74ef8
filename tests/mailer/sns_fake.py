"""A stand-in for Amazon SNS in tests: a self-signed RSA certificate served over local
HTTP (as SNS serves its signing certificate), messages signed exactly as SNS signs them,
and a SubscribeURL endpoint that records its confirmations."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"


def canonical(message: dict[str, Any]) -> bytes:
    """The string SNS signs, written here from AWS's documentation (not the mailer's code):
    for a Notification Message, MessageId, Subject (if any), Timestamp, TopicArn, Type; for
    a (Un)SubscriptionConfirmation Message, MessageId, SubscribeURL, Timestamp, Token,
    TopicArn, Type; each as ``name\nvalue\n``."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


class FakeSns:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = _certificate(self.key)
        self.confirmations: list[str] = []
        self.cert_fetches = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/cert.pem":
                    fake.cert_fetches += 1
                    body = fake.pem
                elif self.path.startswith("/confirm"):
                    fake.confirmations.append(self.path)
                    body = b"<ConfirmSubscriptionResponse/>"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.cert_url = f"{self.base}/cert.pem"
        # What the mailer is told to trust: this local server only.
        self.url_pattern = rf"^http://127\.0\.0\.1:{self._server.server_address[1]}/"

    def __enter__(self) -> FakeSns:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        signature = self.key.sign(canonical(signed), padding.PKCS1v15(), algorithm)
        return signed | {"Signature": base64.b64encode(signature).decode()}

    def notification(self, ses_event: dict[str, Any], version: str = "1") -> dict[str, Any]:
        return self.sign(
            {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": TOPIC,
                "Message": json.dumps(ses_event),
                "Timestamp": datetime.now(UTC).isoformat(),
                "UnsubscribeURL": f"{self.base}/unsubscribe",
            },
            version,
        )

    def subscription(self, subscribe_url: str | None = None) -> dict[str, Any]:
        token = uuid.uuid4().hex
        return self.sign(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": token,
                "TopicArn": TOPIC,
                "Message": "You have chosen to subscribe to the topic.",
                "SubscribeURL": subscribe_url or f"{self.base}/confirm?Token={token}",
                "Timestamp": datetime.now(UTC).isoformat(),
            }
        )


def ses_event(
    event_type: str,
    ids: dict[str, str],
    section: dict[str, Any] | None = None,
    message_id: str = "0100018c-ses-message-id",
) -> dict[str, Any]:
    """An SES event-publishing record, as SES puts it in the SNS Message."""
    key = {"DeliveryDelay": "deliveryDelay"}.get(event_type, event_type.lower())
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "eventType": event_type,
        "mail": {
            "timestamp": now,
            "source": "notifications@mail.example.com",
            "messageId": message_id,
            "destination": ["jane.buyer@example.com"],
            "tags": {name: [value] for name, value in ids.items()},
        },
        key: {"timestamp": now, **(section or {})},
    }
