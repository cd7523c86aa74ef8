"""Contact details in a draft: only the agent's own may reach the client.

Every field a client or a lead source can fill (name, notes, property address, custom
fields, tags, source, timeline text) is untrusted, and a model can be talked into copying
an address, a link or a phone number out of it ("wire the deposit to …"). So a draft may
carry only the contact details found in the agent's own context: the profile email and
phone, the reply-to address, the signature (where the agent's website lives), the
brokerage's postal address, the agent's instructions for this email, and the mailer's
unsubscribe link. Everything else is removed and reported, and the draft is held.

Found with maintained libraries, not home-grown patterns: URLs and bare domains with
``urlextract`` (its bundled IANA TLD list; it is never asked to update, so no network),
phone numbers with ``phonenumbers.PhoneNumberMatcher`` over several regions (any national
format), look-alike characters with ``confusable_homoglyphs`` (Unicode's confusables data).
A few patterns remain for what no library finds: plain addresses, scheme links on
unlisted TLDs, and spelled-out obfuscation ("name [at] domain [dot] com").

Catches: addresses in any case or with "[at]"/"(at)"/" at … dot "; links with or without
a scheme, bare domains on any IANA TLD, IP links, shorteners (they are links), links
hidden behind zero-width characters or full-width dots; phone numbers in the national
formats of the regions below and in international format; words mixing scripts
(a Cyrillic "a", U+0430, in "paypal.com"). Knowingly misses: phone numbers spelled in words ("five
five five…"), vanity numbers (1-800-FLOWERS), numbers under 7 digits, a domain on a TLD
IANA does not list written without a scheme or path, and postal addresses (a street
address is not a contact channel the filter can tell from the property's own).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
from confusable_homoglyphs import confusables
from urlextract import URLExtract

REGIONS = ("US", "GB", "CA", "AU", "DE", "FR", "ES", "IT", "NL", "IN", "MX", "BR")
"""National formats a phone number is looked for in (international format is always)."""
MIN_PHONE_DIGITS = 7
"""Shorter digit runs are years, zip codes, prices, street numbers."""

REMOVED = {
    "address": "(address removed)",
    "link": "(link removed)",
    "phone": "(phone number removed)",
    "look-alike": "(look-alike text removed)",
}
REASONS = {
    "address": "the draft had an email address that is not the agent's (removed)",
    "link": "the draft had a link or web address that is not the agent's (removed)",
    "phone": "the draft had a phone number that is not the agent's (removed)",
    "look-alike": "the draft had look-alike characters (removed)",
    "invisible": "the draft had invisible characters (removed)",
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_SCHEME_LINK = re.compile(r"\b(?:https?|ftp)://[^\s<>()\"']+|\bwww\.[^\s<>()\"']+", re.I)
_PATH_LINK = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/[^\s<>()\"']*", re.I)
_AT = r"(?:\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+)"
_OBFUSCATED = re.compile(
    rf"(?<![\w.+-])(?:[\w.+-]+{_AT}[\w-]+(?:(?:{_DOT}|\.)[\w-]+)+|[\w-]+(?:{_DOT}[\w-]+)+)",
    re.I,
)
_TOKEN = re.compile(r"\S+")
_DOTTED = re.compile(r"\S*\w\.\w\S*")
_DIGIT_RUN = re.compile(rf"\d(?:[^\d\n]{{0,4}}\d){{{MIN_PHONE_DIGITS - 1},}}")
_PHONE_GUARD = re.compile(r"[$€£¥]\s?$")
_DOTS = str.maketrans({"\u3002": ".", "\uff61": "."})
_STOP_CHARS = str.maketrans({";": " ", ",": " ", "!": " ", "?": " "})


@dataclass(frozen=True)
class Trusted:
    """The agent's own contact details, normalised for comparison."""

    emails: frozenset[str]
    links: frozenset[str]
    phones: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str | None]) -> Trusted:
        return _trusted(tuple(t for t in texts if t))


@lru_cache(maxsize=1024)
def _trusted(texts: tuple[str, ...]) -> Trusted:
    """``Trusted.of``, remembered: a task's drafts are checked several times, and an
    agent's details are the same for all their emails."""
    text = unicodedata.normalize("NFKC", " ".join(texts))
    emails = {m.group(0).lower().rstrip(".") for m in _EMAIL.finditer(text)}
    bare = _EMAIL.sub(" ", text)
    links = {_link_key(url) for url, _ in _links(bare)}
    links |= {key.split("/", 1)[0] for key in links}  # the site itself, without a page
    phones = {_phone_key(match) for match in _phones(text)}
    return Trusted(frozenset(emails), frozenset(links), frozenset(phones))


@dataclass
class Scrubbed:
    text: str
    reasons: list[str]


def scrub(text: str, trusted: Trusted) -> Scrubbed:
    """``text`` without any contact detail that is not in ``trusted``, with the reasons."""
    reasons: list[str] = []
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    visible = (
        text if text.isascii() else "".join(c for c in text if unicodedata.category(c) != "Cf")
    )
    if visible != text:
        reasons.append(REASONS["invisible"])
    text = _replace_look_alikes(visible, reasons)
    text = _replace(text, _obfuscated(text, "address"), "address", reasons)
    text = _replace(text, _obfuscated(text, "link"), "link", reasons)
    text = _replace(text, _emails(text, trusted), "address", reasons)
    text = _replace(text, _foreign_links(text, trusted), "link", reasons)
    text = _replace(text, _foreign_phones(text, trusted), "phone", reasons)
    return Scrubbed(text, reasons)


def _replace(text: str, spans: list[tuple[int, int]], kind: str, reasons: list[str]) -> str:
    if not spans:
        return text
    if REASONS[kind] not in reasons:
        reasons.append(REASONS[kind])
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        text = text[:start] + REMOVED[kind] + text[end:]
    return text


def _replace_look_alikes(text: str, reasons: list[str]) -> str:
    spans = [
        m.span()
        for m in _TOKEN.finditer(text)
        if not m.group(0).isascii() and confusables.is_dangerous(m.group(0))
    ]  # an ASCII word has nothing to confuse (and the check is slow: skip those)
    return _replace(text, spans, "look-alike", reasons)


def _obfuscated(text: str, kind: str) -> list[tuple[int, int]]:
    """ "maria [at] evil [dot] com" (an address), "evil (dot) com" (a link): spelled-out
    separators before a real TLD ("look at this" is not an address: no TLD follows)."""
    spans: list[tuple[int, int]] = []
    if not re.search(_AT if kind == "address" else _DOT, text, re.I):
        return spans  # the common case: nothing spelled out
    for match in _OBFUSCATED.finditer(text):
        is_address = re.search(_AT, match.group(0), re.I) is not None
        last = re.split(rf"{_DOT}|\.", match.group(0), flags=re.I)[-1].strip().lower()
        if is_address == (kind == "address") and last in _tlds():
            spans.append(match.span())
    return spans


def _emails(text: str, trusted: Trusted) -> list[tuple[int, int]]:
    return [
        m.span()
        for m in _EMAIL.finditer(text)
        if m.group(0).lower().rstrip(".") not in trusted.emails
    ]


def _foreign_links(text: str, trusted: Trusted) -> list[tuple[int, int]]:
    return [span for url, span in _links(text) if _link_key(url) not in trusted.links]


def _foreign_phones(text: str, trusted: Trusted) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in _phones(text) if _phone_key(m) not in trusted.phones]


def _links(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Every link and bare domain: the library's (IANA TLDs) and scheme or path links on
    any TLD (``https://evil.example/x``)."""
    view = text.translate(_STOP_CHARS)  # same length: urlextract stops at these otherwise
    found: list[tuple[str, tuple[int, int]]] = []
    # Only words with a dot inside can hold a domain: the library's TLD regex over a whole
    # draft cost 12 ms, over these words a fraction of that.
    for word in _DOTTED.finditer(view):
        for _url, (start, end) in _extractor().find_urls(word.group(0), get_indices=True):
            start, end = start + word.start(), end + word.start()
            found.append((text[start:end], (start, end)))
    for pattern in (_SCHEME_LINK, _PATH_LINK):
        found += [(m.group(0), m.span()) for m in pattern.finditer(text)]
    return found


def _link_key(url: str) -> str:
    key = url.strip().rstrip(".,;:!?)").lower()
    key = re.sub(r"^[a-z][a-z0-9+.-]*://", "", key)
    key = key.removeprefix("www.")
    return key.rstrip("/")


def _phones(text: str) -> list[phonenumbers.PhoneNumberMatch]:
    found: dict[tuple[int, int], phonenumbers.PhoneNumberMatch] = {}
    if not _DIGIT_RUN.search(text):  # no 7 digits close together: no number to find
        return []
    for region in REGIONS:
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.POSSIBLE
        )
        for match in matcher:
            digits = re.sub(r"\D", "", match.raw_string)
            if len(digits) < MIN_PHONE_DIGITS or _PHONE_GUARD.search(text[: match.start]):
                continue
            found.setdefault((match.start, match.end), match)
    return list(found.values())


def _phone_key(match: phonenumbers.PhoneNumberMatch) -> str:
    """The national number: "+1 555 0100 12", "(555) 010-012" and "555.010.012" agree."""
    return str(match.number.national_number)


@cache
def _extractor() -> URLExtract:
    return URLExtract(extract_email=False, cache_dns=False)


@cache
def _tlds() -> frozenset[str]:
    return frozenset(tld.lstrip(".").lower() for tld in _extractor()._load_cached_tlds())
