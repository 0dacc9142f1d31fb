"""The flag pages as a business and a reviewer use them: flag with a confirmation, the reviewer's
link (a GET never uses it up), escalate or drop with a confirmation."""

from __future__ import annotations

import re

from delivery.links import Links, Purpose
from domain.enums import FlagReason, FlagStatus
from starter.flag_inputs import FlagBody
from tests.conftest import Harness
from tests.web import csrf_of, sign_in, web_client

EXPLANATION = "It gives the mobile number of our manager."


async def test_business_flags_a_review_after_a_confirmation_and_drops_it_after_the_edit(
    live: Harness,
) -> None:
    h, w = live, live.world
    review_id = w.review["organic"]
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.business])
        board = (await api.get("/dashboard")).text
        assert f'href="/dashboard/reviews/{review_id}/flag"' in board
        assert f'href="/dashboard/reviews/{w.review["removed"]}/flag"' not in board
        assert 'href="/dashboard/flags"' in board

        form = await api.get(f"/dashboard/reviews/{review_id}/flag")
        assert form.status_code == 200 and "Personal information" in form.text
        assert "Not based on a genuine experience" not in form.text  # that goes by a contact
        csrf = csrf_of(form.text)
        fields = {"csrf": csrf, "reason": "personal_information", "explanation": EXPLANATION}
        url = f"/dashboard/reviews/{review_id}/flag"
        harmful = await api.post(url, data={**fields, "reason": "harmful_or_illegal"})
        assert harmful.status_code == 422 and "what kind" in harmful.text
        forged = await api.post(url, data={**fields, "csrf": "nope"})
        assert forged.status_code == 403

        confirm = await api.post(url, data=fields)
        assert confirm.status_code == 200 and "Flag the review" in confirm.text
        assert "3 days" in confirm.text
        assert await h.service.flags.flags_of(w.business) == []  # nothing until confirmed
        key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text)
        assert key
        sent = {**fields, "confirmed": "yes", "idempotency_key": key.group(1)}
        flagged = await api.post(url, data=sent)
        assert flagged.status_code == 303
        again = await api.post(url, data=sent)  # sent twice: one flag
        assert again.headers["location"] == flagged.headers["location"]
        [flag] = await h.service.flags.flags_of(w.business)
        assert flagged.headers["location"] == f"/dashboard/flags/{flag.id}?notice=flagged"

        page = (await api.get(f"/dashboard/flags/{flag.id}")).text
        assert "Waiting for the reviewer to edit or withdraw" in page
        assert "The reviewer was emailed" in page
        assert "Escalate to a moderator" not in page
        early = await api.get(f"/dashboard/flags/{flag.id}/escalate")
        assert early.status_code == 409

    token = Links.of(h.settings).token(Purpose.FLAG, flag.id)
    async with web_client(h) as reviewer:
        link = f"/flag/{token}"
        for _ in range(2):  # showing the page never uses the link up
            shown = await reviewer.get(link)
            assert shown.status_code == 200
            assert EXPLANATION in shown.text and f"Shop {w.business}" in shown.text
            assert w.business_email not in shown.text
        withdraw = await reviewer.get(f"{link}?confirm=withdraw")
        assert "This cannot be undone" in withdraw.text
        unchanged = await reviewer.post(
            link, data={"action": "edit", "title": "Review organic", "text": "Text of organic"}
        )
        assert unchanged.status_code == 422
        edited = await reviewer.post(
            link, data={"action": "edit", "title": "Review organic", "text": "Lovely bread."}
        )
        assert edited.status_code == 200 and "Lovely bread." in edited.text
        closed = await reviewer.get(link)
        assert closed.status_code == 410 and "You edited your review" in closed.text
        assert (await reviewer.get("/flag/not-a-token")).status_code == 404
    assert (await h.review(review_id)).text == "Lovely bread."

    async with web_client(h) as api:
        await sign_in(api, w.keys[w.business])
        page = (await api.get(f"/dashboard/flags/{flag.id}")).text
        assert "The reviewer edited the review" in page
        assert "Lovely bread." in page
        confirm = await api.get(f"/dashboard/flags/{flag.id}/drop")
        assert confirm.status_code == 200 and "Yes, drop the flag" in confirm.text
        dropped = await api.post(
            f"/dashboard/flags/{flag.id}/drop", data={"csrf": csrf_of(confirm.text)}
        )
        assert dropped.status_code == 303
        page = (await api.get(dropped.headers["location"])).text
        assert "Your flag is dropped." in page and "Escalate to a moderator" not in page
        listed = (await api.get("/dashboard/flags")).text
        assert f'data-flag="{flag.id}"' in listed and "Dropped" in listed
    view = await h.service.flags.flag_of(w.business, flag.id)
    assert view.flag.status is FlagStatus.DROPPED


async def test_flag_pages_show_nothing_of_another_business(live: Harness) -> None:
    h, w = live, live.world
    body = FlagBody(reason=FlagReason.WRONG_BUSINESS, explanation="Not us")
    flag = (await h.service.flags.flag(w.business, w.review["organic"], body)).flag
    async with web_client(h) as api:
        assert (await api.get("/dashboard/flags")).status_code == 401
        await sign_in(api, w.keys[w.other_business])
        peek = await api.get(f"/dashboard/flags/{flag.id}")
        assert peek.status_code == 404 and "Not us" not in peek.text
        assert (await api.get(f"/dashboard/reviews/{w.review['organic']}/flag")).status_code == 404
        assert flag.id not in (await api.get("/dashboard/flags")).text
