"""Which CSV column is which client field. The headers of the common real estate CRMs'
exports (Follow Up Boss, kvCORE, LionDesk, Zillow Premier Agent, BoomTown, Realvolve …)
are recognised; an agent can override any of it with an explicit mapping."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal, get_args

Target = Literal[
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "stage",
    "property_address",
    "property_type",
    "source",
    "tags",
    "notes",
    "timezone",
    "birthday",
    "custom",
    "ignore",
]
TARGETS: tuple[str, ...] = get_args(Target)

# Normalised header (lower case, letters and digits only) → field.
_ALIASES: dict[str, str] = {
    "name": "name fullname contactname leadname clientname contact",
    "first_name": "firstname first givenname fname",
    "last_name": "lastname last surname familyname lname",
    "email": "email email1 emailaddress primaryemail personalemail email1value emailaddress1 "
    "emails leademail contactemail",
    "phone": "phone phone1 phonenumber primaryphone mobile mobilephone cell cellphone "
    "phone1value homephone phones leadphone contactphone",
    "stage": "stage status leadstatus leadstage pipelinestage contactstatus",
    "property_address": "address propertyaddress streetaddress address1 mailingaddress "
    "homeaddress propertystreet street listingaddress address1street",
    "property_type": "propertytype type hometype",
    "source": "source leadsource origin contactsource referralsource",
    "tags": "tags tag labels groups leadtags hashtags categories",
    "notes": "notes note comments description background leadnotes",
    "timezone": "timezone tz",
    "birthday": "birthday birthdate dateofbirth dob bday",
}
# Where a column goes when it is not a client field: "birthday" and "custom" fill a custom
# field (named "Birthday", or after the column), as unmapped columns do through the API.
BIRTHDAY_FIELD = "Birthday"
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%B %d, %Y", "%b %d, %Y", "%d %B %Y")
_BY_ALIAS = {alias: target for target, aliases in _ALIASES.items() for alias in aliases.split()}


def normalise_header(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


FIELD_PREFIX = "field:"
"""A target ``field:<key>`` is one of the agent's custom fields (typed: a date column is
read as a date)."""


def auto_mapping(headers: list[str], field_names: dict[str, str] | None = None) -> dict[str, str]:
    """Header → field for the headers recognised; the first header wins a field.
    ``field_names`` (custom field key → label) maps a header named like one of the agent's
    custom fields, by key or label ("Birthday" → ``field:birthday``)."""
    custom = {
        normalise_header(name): FIELD_PREFIX + key
        for key, label in (field_names or {}).items()
        for name in (key, label)
    }
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        # The agent's own (typed) custom field wins over the generic alias ("Birthday").
        target = custom.get(normalise_header(header)) or _BY_ALIAS.get(normalise_header(header))
        if target is not None and target not in taken:
            mapping[header] = target
            taken.add(target)
    return mapping


# Stage names of other CRMs → ours.
_STAGE_WORDS = {
    "lead": "lead new newlead cold nurture",
    "prospect": "prospect warm hot active activeclient qualified appointmentset",
    "negotiating": "negotiating negotiation showing offer offermade",
    "under_contract": "undercontract pending contract",
    "closed": "closed sold pastclient won",
    "lost": "lost trash dead archived inactive",
}
_TYPE_WORDS = {
    "residential": "residential singlefamily condo townhouse multifamily home",
    "commercial": "commercial office retail industrial",
    "land": "land lot lotsland farm ranch",
    "other": "other",
}
_STAGES = {word: stage for stage, words in _STAGE_WORDS.items() for word in words.split()}
_TYPES = {word: kind for kind, words in _TYPE_WORDS.items() for word in words.split()}


def stage_of(value: str) -> str | None:
    return _STAGES.get(normalise_header(value))


def property_type_of(value: str) -> str:
    return _TYPES.get(normalise_header(value), "other")


def split_tags(value: str) -> list[str]:
    return [t.strip() for t in re.split(r"[,;|]", value) if t.strip()]


def birthday_of(text: str) -> str:
    """A birthday as ISO 8601 (``1984-03-07``; ``--03-07`` without a year), or the text
    as given when it is no date we know (US month-first, as US CRMs export)."""
    cleaned = " ".join(text.strip().split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date().isoformat()
        except ValueError:
            continue
    if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})", cleaned):
        month, day = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12 and 1 <= day <= 31:
            return f"--{month:02d}-{day:02d}"
    return cleaned
