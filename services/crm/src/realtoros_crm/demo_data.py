"""The demo's people, places and words: made up, at reserved example domains only."""

from __future__ import annotations

import random

from realtoros_crm.clients.models import Client
from realtoros_crm.clients.schemas import ClientCreate

RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
FIRST = [
    "Jordan",
    "Ana",
    "Sam",
    "Priya",
    "Marcus",
    "Elena",
    "Omar",
    "Grace",
    "Luis",
    "Hannah",
    "Kenji",
    "Maya",
    "Theo",
    "Rosa",
    "Dev",
    "Chloe",
    "Ivan",
    "Noor",
    "Felix",
    "Lena",
    "Tariq",
    "Zoe",
    "Ben",
    "Aisha",
]
LAST = [
    "Lee",
    "Ortiz",
    "Chen",
    "Patel",
    "Brooks",
    "Rossi",
    "Haddad",
    "Kim",
    "Alvarez",
    "Novak",
    "Sato",
    "Cohen",
    "Wright",
    "Silva",
    "Mehta",
    "Dubois",
    "Petrov",
    "Khan",
    "Weber",
    "Moreau",
    "Farah",
    "Nguyen",
    "Carter",
    "Bello",
]
STREETS = ("Elm St", "Harbor Way", "Maple Ave", "Ocean Blvd", "Cedar Ln", "Bay Rd", "Hill St")
SOURCES = ("Zillow", "Open house", "Referral", "Website", "Realtor.com", "Instagram")
STAGES = (
    "lead",
    "lead",
    "lead",
    "prospect",
    "prospect",
    "negotiating",
    "under_contract",
    "closed",
    "lost",
)
TAGS: tuple[list[str], ...] = (
    ["buyer"],
    ["seller"],
    ["buyer", "first-home"],
    ["seller", "vip"],
    ["investor"],
    [],
)
PURPOSES = ("Day 1", "Day 3", "Week 1", "Week 2", "Month 1")
SUBJECTS = (
    "Homes near {street} this week",
    "Following up on {street}",
    "Your market update",
    "A few listings you might like",
    "Checking in after the open house",
)


def client_data(n: int, rng: random.Random) -> ClientCreate:
    first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
    domain = RESERVED_DOMAINS[n % len(RESERVED_DOMAINS)]
    return ClientCreate(
        name=f"{first} {last}",
        email=f"{first.lower()}.{last.lower()}@{domain}",
        phone=f"(555) 01{n:02d}-{rng.randint(1000, 9999)}",
        stage=STAGES[n % len(STAGES)],  # type: ignore[arg-type]
        property_address=f"{rng.randint(2, 240)} {rng.choice(STREETS)}, Salem, MA",
        property_type="residential",
        source=rng.choice(SOURCES),
        tags=list(TAGS[n % len(TAGS)]),
        notes="Pre-approved; wants a yard." if n % 4 == 0 else None,
        custom_fields={"budget": 350_000 + 25_000 * (n % 12)} if n % 3 == 0 else {},
    )


def body(client: Client, subject: str) -> str:
    first = client.name.split()[0]
    return (
        f"Hi {first},\n\n{subject}: I pulled a few options that match what you told me, "
        "including two with the yard you wanted. Would Saturday morning work for a quick "
        "tour?\n\nBest,\nDana"
    )
