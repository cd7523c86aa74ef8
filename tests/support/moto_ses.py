"""Amazon SES for tests: moto's server in a thread of the test process, and what it sent.

Everything is read over moto's HTTP API, so a moto server in another process can be
read the same way (start it with ``MOTO_ENABLE_RECORDING=1``):

* ``GET /moto-api/data.json`` lists moto's model instances; the SES backend keeps every
  accepted raw email as a ``ses.RawMessage`` (id, source, destinations, raw_data). It keeps
  neither the tags nor the other request fields, so
* moto's request recorder (``/moto-api/recorder/...``) supplies them: each sesv2
  ``SendEmail`` request is matched to the message moto accepted by its raw data.

Several ``MotoSes`` in one process share moto's backends and recorder; each one's
``sent_emails()`` still lists only what was sent through its own endpoint.

Usage::

    with MotoSes() as ses:
        ses.verify_sender("notifications@mail.example.com")
        ... send with endpoint_url=ses.endpoint_url ...
        [sent] = ses.sent_emails(email_id=...)
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import boto3
import httpx
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
SEND_EMAIL_PATH = "/v2/email/outbound-emails"
H_EMAIL_ID = "X-RealtorOS-Email-Id"


@dataclass(frozen=True)
class SentEmail:
    """One email moto accepted, with the request that sent it."""

    message_id: str
    source: str
    destinations: list[str]
    raw: bytes
    tags: dict[str, str] = field(default_factory=dict)
    reply_to: list[str] = field(default_factory=list)
    configuration_set: str | None = None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=default_policy)

    @property
    def email_id(self) -> str | None:
        value = self.message[H_EMAIL_ID]
        return None if value is None else str(value)

    def text(self) -> str:
        """The text/plain part, decoded, with Unix line ends."""
        return self._part("plain")

    def html(self) -> str:
        """The text/html part, decoded, with Unix line ends."""
        return self._part("html")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(cast(EmailMessage, part).get_content()).replace("\r\n", "\n")


class MotoSes:
    """moto's server on a free port of 127.0.0.1, recording the requests it receives."""

    def __init__(self, region: str = REGION) -> None:
        self.region = region
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoSes:
        # Werkzeug logs every request at INFO on stderr: noise in test output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        _recording_file()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._post("/moto-api/recorder/start-recording")
        return self

    def stop(self) -> None:
        # The recorder and moto's backends are process-wide: recording stays on for any
        # other MotoSes in this process.
        self._server.stop()

    def __enter__(self) -> MotoSes:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- set-up ---------------------------------------------------------------------------
    def client(self) -> Any:
        """A synchronous boto3 ``sesv2`` client on this server."""
        return boto3.client(
            "sesv2",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def verify_sender(self, address: str) -> None:
        """Make ``address`` a verified identity: moto's sesv2 SendEmail refuses any other
        sender with MessageRejected ("Did not have authority to send from email …")."""
        client = self.client()
        with contextlib.suppress(client.exceptions.AlreadyExistsException):
            client.create_email_identity(EmailIdentity=address)

    def mailer_env(self, from_address: str) -> dict[str, str]:
        """The environment that points the mailer at this server."""
        return {
            "MAIL_TRANSPORT": "ses",
            "SES_ENDPOINT_URL": self.endpoint_url,
            "SES_FROM_ADDRESS": from_address,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    # --- what was sent --------------------------------------------------------------------
    def sent_emails(self, *, email_id: str | None = None) -> list[SentEmail]:
        """Every email moto accepted through this server (oldest first), optionally only
        those whose ``X-RealtorOS-Email-Id`` header is ``email_id``."""
        requests = self._send_requests()
        sent = []
        for raw_message in self._raw_messages():
            raw = str(raw_message["raw_data"]).encode()
            request = requests.get(raw)
            if request is None:
                continue  # sent through another MotoSes of this process
            sent.append(
                SentEmail(
                    message_id=str(raw_message["id"]),
                    source=str(raw_message["source"]),
                    destinations=list(raw_message["destinations"]),
                    raw=raw,
                    tags={t["Name"]: t["Value"] for t in request.get("EmailTags", [])},
                    reply_to=list(request.get("ReplyToAddresses", [])),
                    configuration_set=request.get("ConfigurationSetName"),
                )
            )
        if email_id is not None:
            sent = [email for email in sent if email.email_id == email_id]
        return sent

    sent_messages = sent_emails

    def _raw_messages(self) -> list[dict[str, Any]]:
        data = httpx.get(f"{self.endpoint_url}/moto-api/data.json", timeout=10).json()
        return list(data.get("ses", {}).get("RawMessage", []))

    def _send_requests(self) -> dict[bytes, dict[str, Any]]:
        """The sesv2 SendEmail requests this server received, keyed by their raw message."""
        recording = httpx.get(
            f"{self.endpoint_url}/moto-api/recorder/download-recording", timeout=10
        ).text
        requests: dict[bytes, dict[str, Any]] = {}
        for line in recording.splitlines():
            entry = json.loads(line)
            if entry["method"] != "POST" or entry["url"] != self.endpoint_url + SEND_EMAIL_PATH:
                continue
            body = entry["body"]
            if entry.get("body_encoded"):
                body = base64.b64decode(body)
            params = json.loads(body)
            raw = params.get("Content", {}).get("Raw", {}).get("Data")
            if raw is not None:
                requests[base64.b64decode(raw)] = params
        return requests

    def _post(self, path: str) -> None:
        httpx.post(f"{self.endpoint_url}{path}", timeout=10).raise_for_status()


_recording: Path | None = None


def _recording_file() -> Path:
    """moto's recorder is a process-wide singleton whose file is fixed at import from
    MOTO_RECORDER_FILEPATH (default: ./moto_recording in the working directory). Point it,
    once per process, at a temporary file, so tests leave nothing in the repository."""
    global _recording
    if _recording is None:
        from moto.moto_api import recorder

        fd, name = tempfile.mkstemp(prefix="moto-ses-", suffix=".jsonl")
        os.close(fd)
        _recording = Path(name)
        atexit.register(_recording.unlink, missing_ok=True)
        recorder._location = name
    return _recording
