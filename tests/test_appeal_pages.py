"""The appeal pages as people use them: the reviewer's link in a statement of reasons (a GET never
uses it up), the business's appeal from its contact page, each with a confirmation, and the
moderators' appeals queue where another moderator grants or denies."""

from __future__ import annotations

import re

from delivery.links import Links, Purpose
from domain.enums import AppealStatus, Decision, Visibility
from store import appeals
from tests.conftest import Harness
from tests.test_appeals import WHY, _decided, _removal_statement
from tests.web import sign_in, web_client


def _field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def test_reviewer_appeals_a_removal_through_the_link_and_a_second_moderator_grants_it(
    live: Harness,
) -> None:
    h, w = live, live.world
    view = await _decided(h, Decision.UPHOLD)
    assert view.decision is not None
    statement = await _removal_statement(h, view.report.id)
    token = Links.of(h.settings).token(Purpose.APPEAL, statement.id)
    async with web_client(h) as api:
        assert (await api.get("/appeal/not-a-token")).status_code == 404
        page = await api.get(f"/appeal/{token}")
        assert page.status_code == 200 and "once, free of charge" in page.text
        assert "Review organic" in page.text and "a moderator removed the review" in page.text
        assert view.decision.id not in page.text  # names and words, never ids

        empty = await api.post(f"/appeal/{token}", data={"statement": "  "})
        assert empty.status_code == 422 and "Say why" in empty.text
        confirm = await api.post(f"/appeal/{token}", data={"statement": WHY})
        assert confirm.status_code == 200 and "Send this appeal?" in confirm.text
        async with h.db.read() as conn:  # nothing until confirmed
            assert await appeals.appeal_of_decision(conn, view.decision.id) is None
        sent = {
            "statement": _field(confirm.text, "statement"),
            "confirmed": "yes",
            "idempotency_key": _field(confirm.text, "idempotency_key"),
        }
        done = await api.post(f"/appeal/{token}", data=sent)
        assert done.status_code == 200 and "Your appeal is sent" in done.text
        # The same form sent again is the same appeal, not a second one.
        again = await api.post(f"/appeal/{token}", data=sent)
        assert again.status_code == 200 and "Your appeal is sent" in again.text
        other = await api.post(f"/appeal/{token}", data={**sent, "idempotency_key": "other"})
        assert other.status_code == 409 and "appealed once" in other.text
        after = await api.get(f"/appeal/{token}")
        assert "You appealed" in after.text and "Waiting for a second moderator" in after.text
        assert 'name="statement"' not in after.text

        # The first moderator sees the appeal but cannot decide it.
        await sign_in(api, w.keys[w.moderator])
        assert 'href="/moderation/appeals"' in (await api.get("/moderation")).text
        queue = await api.get("/moderation/appeals")
        assert WHY in queue.text and "The reviewer" in queue.text
        assert "Removed by Mo" in queue.text
        assert "another moderator decides its appeal" in queue.text
        async with h.db.read() as conn:
            appeal = await appeals.appeal_of_decision(conn, view.decision.id)
        assert appeal is not None
        mine = await api.get(f"/moderation/appeals/{appeal.id}/decide?decision=grant")
        assert mine.status_code == 409

        await sign_in(api, w.keys[w.second_moderator])
        queue = await api.get("/moderation/appeals")
        assert f'href="/moderation/appeals/{appeal.id}/decide?decision=grant"' in queue.text
        ask = await api.get(f"/moderation/appeals/{appeal.id}/decide?decision=grant")
        assert ask.status_code == 200 and "shown again at once" in ask.text
        decided = await api.post(
            f"/moderation/appeals/{appeal.id}/decision",
            data={
                "csrf": _field(ask.text, "csrf"),
                "decision": "grant",
                "note": "The stay is confirmed.",
                "idempotency_key": _field(ask.text, "idempotency_key"),
            },
        )
        assert decided.status_code == 303
        assert (await h.review(w.review["organic"])).visibility is Visibility.VISIBLE
        history = await api.get("/moderation/appeals?show=decided")
        assert "Granted" in history.text and "by Sam" in history.text
        final = await api.get(f"/appeal/{token}")
        assert "final on Reviewdesk" in final.text


async def test_business_appeals_a_rejection_from_its_contact_page_after_a_confirmation(
    live: Harness,
) -> None:
    h, w = live, live.world
    view = await _decided(h, Decision.REJECT, "external")
    assert view.decision is not None and view.contact is not None
    url = f"/dashboard/decisions/{view.decision.id}/appeal"
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.other_business])
        assert (await api.get(url)).status_code == 404  # not theirs: as if absent
        await sign_in(api, w.keys[w.business])
        contact = await api.get(f"/dashboard/contacts/{view.contact.id}")
        assert f'href="{url}"' in contact.text
        form = await api.get(url)
        assert form.status_code == 200 and "once, free of charge" in form.text
        csrf = _field(form.text, "csrf")
        forged = await api.post(url, data={"csrf": "nope", "statement": WHY})
        assert forged.status_code == 403
        confirm = await api.post(url, data={"csrf": csrf, "statement": WHY})
        assert "Send this appeal?" in confirm.text
        done = await api.post(
            url,
            data={
                "csrf": csrf,
                "statement": WHY,
                "confirmed": "yes",
                "idempotency_key": _field(confirm.text, "idempotency_key"),
            },
        )
        assert done.status_code == 200 and "Your appeal is sent" in done.text
        async with h.db.read() as conn:
            appeal = await appeals.appeal_of_decision(conn, view.decision.id)
        assert appeal is not None and appeal.status is AppealStatus.PENDING
        assert appeal.statement == WHY
        assert "You appealed" in (await api.get(url)).text
