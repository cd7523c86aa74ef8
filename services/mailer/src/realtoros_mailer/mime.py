"""Writing an email's MIME bytes directly: what the email package's ``EmailMessage`` would
write (CRLF, 7-bit, encoded words for non-ASCII header text, quoted-printable parts),
without its header registry, which parsed every header of every send again (the contracts
have already checked these strings: no control characters, bounded lengths).

A header is written as it is when it is short printable ASCII, folded at spaces when it
is long, and as RFC 2047 encoded words (``email.header.Header``, utf-8) when it is not
ASCII. An address header is ``display name <addr-spec>``: the name quoted when it holds
specials, the address on a continuation line when the line would pass 78 characters.
Address headers are cached (an agent's From and Reply-To repeat on every send).
"""

from __future__ import annotations

import re
from email.header import Header
from email.quoprimime import body_encode
from functools import lru_cache

CRLF = "\r\n"
MAX_LINE = 78
"""RFC 5322's recommended line length (the email package's ``max_line_length``)."""

_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+")
"""A phrase that needs no quoting: atext and spaces (RFC 5322, 3.2.3)."""


def fold(line: str) -> str:
    """``line`` (printable ASCII) folded at spaces into lines of at most 78 characters
    where it can be (a word longer than that stays whole: RFC 5322 allows 998)."""
    if len(line) <= MAX_LINE:
        return line
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > MAX_LINE:
            out.append(current)
            current = " " + word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return CRLF.join(out)


def encoded(name: str, value: str) -> str:
    """RFC 2047 encoded words (utf-8, the shorter of Q and B), folded."""
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def header(name: str, value: str) -> str:
    """One header line (folded), without its line end."""
    if value.isascii():
        return fold(f"{name}: {value}")
    return f"{name}: {encoded(name, value)}"


@lru_cache(maxsize=4096)
def address_header(name: str, display_name: str, addr_spec: str) -> str:
    """``From``/``To``/``Reply-To`` with a display name; ``addr_spec`` is checked ASCII."""
    if not display_name:
        return f"{name}: {addr_spec}"
    if not display_name.isascii():
        phrase = encoded(name, display_name)
    elif _ATOMS.fullmatch(display_name) and display_name.strip() == display_name:
        phrase = display_name
    else:
        phrase = '"' + display_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    line = f"{name}: {phrase} <{addr_spec}>"
    last = line.rsplit(CRLF, 1)[-1]
    if len(last) <= MAX_LINE:
        return line
    return f"{name}: {phrase}{CRLF} <{addr_spec}>"


def text_part(subtype: str, text: str) -> str:
    """A utf-8 text part, quoted-printable: the bytes ``set_content(…, cte=
    "quoted-printable")`` writes (line ends normalised, then encoded, then CRLF)."""
    lines = text.encode("utf-8").splitlines()
    body = body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), MAX_LINE)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}" + body.replace("\n", CRLF)
    )


def alternative(headers: list[str], boundary: str, parts: list[str]) -> bytes:
    """A ``multipart/alternative`` message: ``headers`` (lines, folded) then the parts.
    ``boundary`` must not occur in the parts: ``=_`` cannot start a quoted-printable line
    (a literal ``=`` is written ``=3D``)."""
    head = CRLF.join(
        [
            *headers,
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative;",
            f' boundary="{boundary}"',
        ]
    )
    # The CRLF before a delimiter is the delimiter's: each part's own last line end stays.
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return f"{head}{CRLF}{CRLF}{body}--{boundary}--{CRLF}".encode("ascii")
