"""The lists: client pages past the first, bulk stage and tag changes, task actions,
drafts skipped — each through the same services as the API."""

from __future__ import annotations

import re

from realtoros_crm.demo import fill_demo
from tests.web.support import PASSWORD, WebClient, csrf_of

CLIENT_LINK = re.compile(r'<td class="title"><a href="/app/clients/([0-9a-f-]{36})">')


async def signed_in_demo(web: WebClient) -> None:
    state = web.app.state.crm
    await fill_demo(state.sessions, state.clock(), "demo@harbor.example", PASSWORD)
    response = await web.submit(
        "/app/login", "/app/login", {"email": "demo@harbor.example", "password": PASSWORD}
    )
    assert response.status_code == 303


async def test_the_client_list_pages_past_the_first(web: WebClient) -> None:
    await signed_in_demo(web)
    first = await web.http.get("/app/clients?sort=name&order=desc")
    next_link = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = await web.http.get("/app/clients" + next_link.group(1).replace("&amp;", "&"))
    first_ids, second_ids = CLIENT_LINK.findall(first.text), CLIENT_LINK.findall(second.text)
    assert (len(first_ids), len(second_ids)) == (20, 4)
    assert not set(first_ids) & set(second_ids)
    assert 'rel="next"' not in second.text
    assert "First page" in second.text


async def test_bulk_stage_and_tag_change(web: WebClient) -> None:
    await signed_in_demo(web)
    listing = await web.http.get("/app/clients?q=ortiz")
    ids = CLIENT_LINK.findall(listing.text)
    assert ids
    response = await web.http.post(
        "/app/clients/bulk",
        data={
            "csrf": csrf_of(listing.text),
            "ids": ids,
            "stage": "negotiating",
            "add_tags": "offer",
        },
    )
    assert response.status_code == 303
    changed = await web.http.get("/app/clients?stage=negotiating&tag=offer")
    assert set(CLIENT_LINK.findall(changed.text)) == set(ids)
    assert f"{len(ids)} client{'s' if len(ids) > 1 else ''} changed." in changed.text


async def test_a_draft_is_skipped_and_an_overdue_call_completed(web: WebClient) -> None:
    await signed_in_demo(web)
    drafts = await web.http.get("/app/drafts")
    draft = re.search(r'href="(/app/drafts/[0-9a-f-]{36})"', drafts.text)
    assert draft is not None
    skipped = await web.submit(draft.group(1), draft.group(1), {"action": "skip"})
    assert skipped.status_code == 303
    after = await web.http.get(draft.group(1))
    assert "Skipped: this follow-up will not be sent." in after.text
    assert 'id="draft-status">skipped<' in after.text

    overdue = await web.http.get("/app/tasks?overdue=on&type=call")
    call = re.search(r'href="(/app/tasks/[0-9a-f-]{36})">Call about the inspection', overdue.text)
    assert call is not None
    done = await web.submit(call.group(1), f"{call.group(1)}/complete", {})
    assert done.status_code == 303
    assert "Call about the inspection" not in (await web.http.get("/app/tasks?overdue=on")).text


async def test_a_draft_without_a_subject_is_explained_and_kept(web: WebClient) -> None:
    await signed_in_demo(web)
    drafts = await web.http.get("/app/drafts")
    draft = re.search(r'href="(/app/drafts/[0-9a-f-]{36})"', drafts.text)
    assert draft is not None
    typed = "Hi,\n\nMy own words.\n"
    refused = await web.submit(
        draft.group(1), draft.group(1), {"action": "approve", "subject": "", "body_text": typed}
    )
    assert refused.status_code == 422
    assert "My own words." in refused.text  # what the agent typed is not lost
    assert 'id="draft-status">awaiting approval<' in refused.text
