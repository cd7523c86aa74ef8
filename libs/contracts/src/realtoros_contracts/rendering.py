"""The final text of an email, exactly as the client receives it: the body, the signature
block (RFC 3676 separator) and the footer (postal address, unsubscribe link).

Pure functions over :class:`DeliveryContext`, here in the contracts because two services
must agree on them byte for byte: the mailer builds the sent message with them and the
CRM shows the agent the same text as the draft's preview. Nothing is imported from a
service and nothing does I/O.

A draft that already ends with a sign-off ("Best, Dana" or "Best,\\nDana") is not signed
twice: the signature's own closing and name lines are left out, its contact lines stay.
"""

from __future__ import annotations

import html
import re

from realtoros_contracts.events import DeliveryContext

SIGNATURE_SEPARATOR = "-- "  # RFC 3676: mail clients fold what follows it
CLOSINGS = (
    "best|best regards|best wishes|kind regards|warm regards|warmly|regards|sincerely|"
    "cheers|all the best|talk soon|thanks|thank you|many thanks|yours truly|respectfully"
)
# "Best," alone, or with the name on the same line ("Best, Dana"); not "Thanks for coming!".
_NAME = r"[^\W\d][\w .'\u2019-]{0,60}"
_CLOSING = re.compile(rf"^(?:{CLOSINGS})(?:[,.!]?|,\s*(?P<name>{_NAME}))$", re.IGNORECASE)
_NAME_LINE = re.compile(rf"^{_NAME}$")


def sign_off(body: str) -> str | None:
    """The sign-off the body ends with ("Best,\\nDana" → "Dana", "Best," → ""), or None."""
    lines = [line.strip() for line in body.rstrip().splitlines()]
    if lines and (match := _CLOSING.match(lines[-1])):
        return match.group("name") or ""
    if len(lines) >= 2 and _CLOSING.match(lines[-2]) and _NAME_LINE.match(lines[-1]):
        return lines[-1]
    return None


def _first_word(line: str) -> str:
    words = line.split()
    return words[0].lower() if words else ""


def signature_block(body: str, delivery: DeliveryContext) -> str:
    """The agent's signature, less what the body's own sign-off already says."""
    lines = delivery.signature.strip().splitlines()
    signed = sign_off(body)
    if signed is None:
        return "\n".join(lines)
    names = {part.lower() for part in (signed.split()[:1] + delivery.from_name.split()[:1])}
    while lines and (
        _CLOSING.match(lines[0].strip())
        or (lines[0].split()[:1] and lines[0].split()[0].lower() in names)
    ):
        lines = lines[1:]
    return "\n".join(lines).strip()


def footer_text(delivery: DeliveryContext) -> str:
    lines = []
    if delivery.postal_address.strip():
        lines.append(delivery.postal_address.strip())
    if delivery.unsubscribe_url:
        lines.append(f"Unsubscribe: {delivery.unsubscribe_url}")
    return "\n".join(lines)


def text_body(body: str, delivery: DeliveryContext) -> str:
    """The plain-text part: the body, then the signature block and the footer."""
    tail = [part for part in (signature_block(body, delivery), footer_text(delivery)) if part]
    text = body.rstrip()
    if tail:
        text += f"\n\n{SIGNATURE_SEPARATOR}\n" + "\n\n".join(tail)
    return text + "\n"


def _paragraphs(text: str) -> str:
    blocks = [block.strip("\n") for block in re.split(r"\n[ \t]*\n", text) if block.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
    )


def html_body(subject: str, body: str, delivery: DeliveryContext) -> str:
    """The HTML part: the same text escaped into paragraphs, the footer as links."""
    parts = [_paragraphs(body)]
    if signature := signature_block(body, delivery):
        parts.append(f'<div class="signature">{_paragraphs(signature)}</div>')
    footer = []
    if delivery.postal_address.strip():
        footer.append(html.escape(delivery.postal_address.strip()).replace("\n", "<br>"))
    if delivery.unsubscribe_url:
        url = html.escape(delivery.unsubscribe_url, quote=True)
        footer.append(f'<a href="{url}">Unsubscribe</a>')
    if footer:
        parts.append(
            '<hr><p class="footer" style="font-size:12px;color:#666">'
            + "<br>\n".join(footer)
            + "</p>"
        )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def missing_sender_details(delivery: DeliveryContext) -> list[str]:
    """What the agent must add before anything is sent automatically: CAN-SPAM requires a
    valid postal address in every commercial email, and an unsigned email is not theirs."""
    missing = []
    if not delivery.signature.strip():
        missing.append("a signature")
    if not delivery.postal_address.strip():
        missing.append("a postal address")
    return missing


def missing_details_reason(missing: list[str]) -> str:
    """The words the agent reads on the held draft."""
    return (
        f"Not sent automatically: add {' and '.join(missing)} in Settings (the law requires "
        "a postal address in every email), then approve this draft"
    )
