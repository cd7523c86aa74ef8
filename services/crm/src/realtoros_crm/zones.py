"""Time zones as agents name them: "Eastern", "Pacific Time", "EST", a city, or an IANA
name in any case. Everything is stored as the IANA name ("America/New_York")."""

from __future__ import annotations

import zoneinfo
from functools import cache

COMMON_ZONES: tuple[tuple[str, str], ...] = (
    ("America/New_York", "Eastern Time (New York)"),
    ("America/Chicago", "Central Time (Chicago)"),
    ("America/Denver", "Mountain Time (Denver)"),
    ("America/Phoenix", "Mountain Time, no DST (Phoenix)"),
    ("America/Los_Angeles", "Pacific Time (Los Angeles)"),
    ("America/Anchorage", "Alaska Time (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii Time (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic Time (Puerto Rico)"),
    ("UTC", "UTC"),
)
ALIASES = {
    "eastern": "America/New_York",
    "et": "America/New_York",
    "est": "America/New_York",
    "edt": "America/New_York",
    "central": "America/Chicago",
    "ct": "America/Chicago",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mountain": "America/Denver",
    "mt": "America/Denver",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "arizona": "America/Phoenix",
    "pacific": "America/Los_Angeles",
    "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "alaska": "America/Anchorage",
    "akst": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "hst": "Pacific/Honolulu",
    "atlantic": "America/Puerto_Rico",
    "gmt": "UTC",
    "utc": "UTC",
}


@cache
def _iana_by_lower() -> dict[str, str]:
    names = {name.lower(): name for name in zoneinfo.available_timezones()}
    for iana, label in COMMON_ZONES:
        names[label.lower()] = iana
    # A city alone ("Chicago", "new york") names its zone.
    for name in zoneinfo.available_timezones():
        city = name.rsplit("/", 1)[-1].replace("_", " ").lower()
        names.setdefault(city, name)
    return names


def resolve_zone(text: str) -> str | None:
    """The IANA name an agent meant, or None."""
    key = " ".join(text.strip().lower().replace("_", " ").split())
    key = key.removesuffix(" time").removesuffix(" standard").removesuffix(" daylight")
    if key in ALIASES:
        return ALIASES[key]
    return _iana_by_lower().get(key) or _iana_by_lower().get(key.replace(" ", "_"))


def zone_choices() -> list[tuple[str, str]]:
    """The common US zones first, then every IANA name (for the searchable list)."""
    common = {iana for iana, _ in COMMON_ZONES}
    rest = sorted(zoneinfo.available_timezones() - common)
    return [*COMMON_ZONES, *((name, name.replace("_", " ")) for name in rest)]
