"""Fair-housing wording check: phrases that state a preference or limitation on a protected
characteristic are flagged for the agent's review, never sent automatically.

The list follows the US Fair Housing Act's protected classes (race, color, religion,
national origin, sex, familial status, disability) and common state additions (age,
marital status, sexual orientation, source of income, military status), with the examples
of HUD's advertising guidance. It errs on the side of flagging: a false positive costs the
agent one look at a draft, a false negative can cost a complaint. Innocent descriptions of
the property ("family room", "walk-in closet", "master bedroom", "great schools") are not
on it.
"""

from __future__ import annotations

import re

_KIDS = r"(?:kids|children|child|babies|toddlers|teens|teenagers)"
_GROUPS = (
    r"(?:white|black|asian|hispanic|latino|latina|latinx|african|mexican|chinese|indian|"
    r"arab|korean|japanese|italian|irish|polish|russian|european|immigrant|foreign|"
    r"jewish|christian|muslim|catholic|protestant|hindu|mormon|buddhist|sikh|gay|straight)"
)
_PLACES = (
    r"(?:neighbou?rhoods?|areas?|communit(?:y|ies)|famil(?:y|ies)|buyers|tenants|people|folks)"
)

PHRASES: tuple[tuple[str, str], ...] = (
    # familial status
    ("familial status", rf"\bno {_KIDS}\b"),
    ("familial status", rf"\bwithout {_KIDS}\b"),
    ("familial status", rf"\b{_KIDS}[- ]free\b"),
    ("familial status", r"\badults?[- ]only\b|\bonly adults\b"),
    ("familial status", r"\b(?:no|not for|not suitable for) (?:young )?famil(?:y|ies)\b"),
    ("familial status", rf"\bnot (?:suitable|ideal|safe) for {_KIDS}\b"),
    (
        "familial status",
        r"\b(?:perfect|ideal|great|best) for (?:a )?(?:young )?"
        r"(?:families|couples?|singles?|bachelors?|empty[- ]nesters)\b",
    ),
    ("familial status", r"\b(?:couples|singles|married couples) only\b"),
    # race, color, national origin, religion (and sexual orientation, a state addition)
    ("race, color, national origin or religion", rf"\b{_GROUPS} {_PLACES}\b"),
    ("race, color, national origin or religion", r"\b(?:racially|ethnically|ethnic)\b"),
    (
        "race, color, national origin or religion",
        r"\b(?:integrated|segregated|exclusive) "
        r"(?:neighbou?rhood|area|community)\b",
    ),
    ("national origin", r"\bno (?:immigrants|foreigners)\b|\benglish[- ]speaking only\b"),
    ("national origin", r"\bmust speak english\b|\bamerican[- ]born\b"),
    ("religion", r"\b(?:christian|jewish|muslim|catholic) (?:home|household)\b"),
    # sex
    ("sex", r"\b(?:male|female|men|women|man|woman)[- ]only\b|\bno (?:men|women)\b"),
    ("sex", r"\bbachelor pad\b|\bperfect for a (?:single )?(?:man|woman|gentleman|lady)\b"),
    # disability
    ("disability", r"\bno wheelchairs?\b|\bable[- ]bodied\b|\bhandicapped\b|\bcrippled\b"),
    ("disability", r"\b(?:not suitable for|no) (?:the )?(?:disabled|handicapped|blind|deaf)\b"),
    ("disability", r"\bmentally (?:ill|handicapped)\b|\bmust be able to (?:climb|walk)\b"),
    # state additions
    (
        "age",
        r"\bno (?:seniors|retirees|elderly)\b|\b(?:young|younger) "
        r"(?:buyers|people|professionals|couples?) only\b|\bperfect for young professionals\b",
    ),
    ("source of income", r"\bno (?:section 8|vouchers?|housing assistance|welfare)\b"),
    ("military status", r"\bno (?:military|veterans)\b"),
)

_COMPILED = tuple((label, re.compile(pattern, re.IGNORECASE)) for label, pattern in PHRASES)


def fair_housing_flags(text: str) -> list[str]:
    """One review reason per protected characteristic the text's wording touches."""
    found: dict[str, str] = {}
    for label, pattern in _COMPILED:
        if label not in found and (match := pattern.search(text)):
            found[label] = match.group(0)
    return [f"possible fair-housing issue ({label}): {phrase!r}" for label, phrase in found.items()]
