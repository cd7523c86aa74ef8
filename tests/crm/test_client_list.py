"""The client list: keyset pages (page 2 is the next rows, not empty, not repeated),
sorts, search across name/email/phone/address, filters, a damaged cursor is a 400."""

from __future__ import annotations

from typing import Any

from tests.crm.helpers import Crm, SignedIn, add_client, sign_up


async def _all_pages(crm: Crm, who: SignedIn, **params: Any) -> list[list[dict[str, Any]]]:
    pages = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await crm.http.get("/clients", params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            return pages
        assert response.headers["Link"].endswith('rel="next"')


async def test_pages_follow_each_other_in_every_sort(crm: Crm) -> None:
    who = await sign_up(crm.http)
    names = ["Noor", "ada", "Ben", "Cleo", "Dev", "Eli", "Faye"]
    stages = ["closed", "lead", "prospect", "lead", "negotiating", "lost", "under_contract"]
    made = [
        await add_client(crm.http, who, name=n, stage=s) for n, s in zip(names, stages, strict=True)
    ]
    ids = [c["id"] for c in made]
    await add_client(crm.http, await sign_up(crm.http), name="Zed")  # someone else's

    pages = await _all_pages(crm, who, limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]  # page 2 is there (bug 7)
    assert [c["id"] for page in pages for c in page] == ids  # created_at asc

    newest_first = await _all_pages(crm, who, limit=2, order="desc")
    assert [c["id"] for page in newest_first for c in page] == ids[::-1]

    by_name = await _all_pages(crm, who, limit=2, sort="name")
    listed = [c["name"] for page in by_name for c in page]
    assert sorted(listed) == sorted(names)
    assert len(listed) == len(names)

    by_stage = await _all_pages(crm, who, limit=2, sort="stage", order="desc")
    pipeline = ["lead", "prospect", "negotiating", "under_contract", "closed", "lost"]
    ranks = [pipeline.index(c["stage"]) for page in by_stage for c in page]
    assert ranks == sorted(ranks, reverse=True)
    assert len(ranks) == len(names)

    contacted = await _all_pages(crm, who, limit=4, sort="last_contacted_at")
    assert len([c for page in contacted for c in page]) == len(names)  # NULLs paged too


async def test_a_new_client_does_not_shift_page_two(crm: Crm) -> None:
    who = await sign_up(crm.http)
    made = [await add_client(crm.http, who, name=f"C{i}") for i in range(4)]
    first = await crm.http.get(
        "/clients", params={"limit": 2, "order": "desc"}, headers=who.headers
    )
    await add_client(crm.http, who, name="Newcomer")
    second = await crm.http.get(
        "/clients",
        params={"limit": 2, "order": "desc", "cursor": first.headers["X-Next-Cursor"]},
        headers=who.headers,
    )
    assert [c["id"] for c in second.json()] == [made[1]["id"], made[0]["id"]]


async def test_search_and_filters(crm: Crm) -> None:
    who = await sign_up(crm.http)
    jordan = await add_client(
        crm.http, who, name="Jordan Lee", phone="+1 (555) 010-0142", property_address="12 Elm St"
    )
    maria = await add_client(
        crm.http, who, name="María Ortiz", email="maria@casa.example", stage="prospect",
        tags=["buyer", "vip"], source="Zillow",
    )  # fmt: skip
    percent = await add_client(crm.http, who, name="100% Pat", stage="closed", tags=["buyer"])

    async def ids(**params: Any) -> list[str]:
        response = await crm.http.get("/clients", params=params, headers=who.headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert await ids(q="jordan") == [jordan["id"]]
    assert await ids(q="ELM st") == [jordan["id"]]
    assert await ids(q="5550100142") == [jordan["id"]]  # phone digits
    assert await ids(q="010-0142") == [jordan["id"]]
    assert await ids(q="casa.example") == [maria["id"]]
    assert await ids(q="100%") == [percent["id"]]  # % is no wildcard: "100" is the word
    assert await ids(q="%") == []  # no word to look for: nobody
    assert await ids(stage=["prospect", "closed"]) == [maria["id"], percent["id"]]
    assert await ids(tag="buyer") == [maria["id"], percent["id"]]
    assert await ids(tag=["buyer", "vip"]) == [maria["id"]]
    assert await ids(source="zillow") == [maria["id"]]
    assert await ids(unsubscribed="false", stage="lead") == [jordan["id"]]
    assert await ids(q="nobody") == []


async def test_search_finds_words_by_their_start_and_phone_digits_anywhere(crm: Crm) -> None:
    """Full-text search (migration 0014): each word of the query starts a word of the name,
    email, phone or address, in any order; digits also match inside a phone number."""
    who = await sign_up(crm.http)
    ana = await add_client(
        crm.http, who, name="Ana-Sofía Kim", email="ana.kim+home@casa-mar.example",
        phone="+44 20 7946 0958", property_address="Flat 3, 221B Baker Street",
    )  # fmt: skip
    bo = await add_client(crm.http, who, name="Bo Kimball", email="bo@kimball.example")
    other = await sign_up(crm.http)
    await add_client(crm.http, other, name="Ana Kim", email="ana@elsewhere.example")

    async def names(q: str) -> list[str]:
        response = await crm.http.get("/clients", params={"q": q}, headers=who.headers)
        assert response.status_code == 200, response.text
        return sorted(c["name"] for c in response.json())

    both = sorted([ana["name"], bo["name"]])
    assert await names("kim") == both  # a prefix of "kim" and of "kimball"
    assert await names("KIM ana") == [ana["name"]]  # any order, any case
    assert await names("sofía") == [ana["name"]]  # a hyphen splits words; accents kept
    assert await names("casa-mar") == [ana["name"]]  # parts of an email address
    assert await names("ana.kim+home@casa-mar.example") == [ana["name"]]  # the whole address
    assert await names("kimball.example") == [bo["name"]]
    assert await names("baker st") == [ana["name"]]
    assert await names("221b") == [ana["name"]]
    assert await names("7946 0958") == [ana["name"]]  # as written
    assert await names("79460958") == [ana["name"]]  # digits inside the number
    assert await names("(020) 7946-0958") == []  # 0207… is not in +44 20 7946 0958
    assert await names("imball") == []  # not the start of a word
    assert await names("kim zed") == []  # every word must match
    assert await names("o'brien \\ 'x' & | ! :*") == []  # tsquery syntax is only text

    # The index follows edits (a generated column).
    await crm.http.patch(
        f"/clients/{bo['id']}", json={"phone": "555 867 5309"}, headers=who.headers
    )
    assert await names("8675309") == [bo["name"]]


async def test_bad_list_parameters_are_4xx(crm: Crm) -> None:
    who = await sign_up(crm.http)
    for _ in range(3):
        await add_client(crm.http, who)
    page = await crm.http.get("/clients", params={"limit": 1}, headers=who.headers)
    cursor = page.headers["X-Next-Cursor"]
    for params, status in (
        ({"cursor": "garbage!"}, 400),
        ({"cursor": cursor, "sort": "name"}, 400),  # a cursor of another sort
        ({"cursor": "W10"}, 400),
        ({"sort": "email"}, 422),
        ({"stage": "married"}, 422),
        ({"limit": 0}, 422),
        ({"unsubscribed": "perhaps"}, 422),
    ):
        response = await crm.http.get("/clients", params=params, headers=who.headers)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
