"""The misuse guard's pages (DESIGN rule 12), with steps put in the store as the standing workflow
records them: the business's standing in words, the banner on its pages only while a step is in
force, the public "Consumer warning", the moderators' view of the ladder and its lift form."""

from __future__ import annotations

import html
import re
import secrets
from datetime import timedelta

import httpx

from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from starter.web.reads import PAGE
from store import standing
from store.records import StandingStep, now
from tests.conftest import Harness
from tests.web import web_client

NOTE = "The rejected flags were about reviews a spammer wrote; the business was right."


def _step(
    subject_id: str,
    kind: StandingStepKind,
    *,
    finding: Finding = Finding.REJECTED_FLAGS,
    figures: dict[str, int] | None = None,
    subject_kind: StandingSubject = StandingSubject.BUSINESS,
    days_ago: int = 1,
    lasts: int = 30,
) -> StandingStep:
    taken = now() - timedelta(days=days_ago)
    return StandingStep(
        id=f"step_{secrets.token_hex(6)}",
        subject_kind=subject_kind,
        subject_id=subject_id,
        kind=kind,
        finding=finding,
        figures=figures if figures is not None else {"decided": 10, "rejected": 6},
        taken_at=taken,
        ends_at=taken + timedelta(days=lasts),
    )


async def _add(h: Harness, *steps: StandingStep) -> None:
    async with h.db.tx() as conn:
        for step in steps:
            await standing.add_step(conn, step)


async def _end(h: Harness, step: StandingStep, end: StepEnd, note: str | None = None) -> None:
    lifted_by = h.world.moderator if end is StepEnd.LIFTED else None
    async with h.db.tx() as conn:
        assert await standing.end_step(
            conn, step.id, at=now(), end=end, lifted_by=lifted_by, note=note
        )


async def _get_step(h: Harness, step_id: str) -> StandingStep:
    async with h.db.read() as conn:
        step = await standing.get_step(conn, step_id)
    assert step is not None
    return step


async def _sign_in(api: httpx.AsyncClient, key: str) -> None:
    await api.get("/login")
    signed = await api.post("/login", data={"api_key": key, "csrf": api.cookies["rd_login_csrf"]})
    assert signed.status_code == 303


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _text(page: str) -> str:
    """What a person reads: the page without its markup (ids may sit in attributes, not here)."""
    body = page.split("<body>", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


async def test_the_business_sees_its_steps_in_words_and_the_banner_only_while_one_is_in_force(
    live: Harness,
) -> None:
    h, w = live, live.world
    warning = _step(w.business, StandingStepKind.WARNING, days_ago=100, lasts=90)
    restriction = _step(
        w.business,
        StandingStepKind.RESTRICTION,
        finding=Finding.NEGATIVE_ONLY,
        figures={"flags": 20, "negative": 19},
    )
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.business])
        good = (await api.get("/dashboard/standing")).text
        assert "in good standing" in _text(good)
        assert 'data-banner="standing"' not in (await api.get("/dashboard")).text

        await _add(h, warning, restriction)
        await _end(h, warning, StepEnd.EXPIRED)
        page = await api.get("/dashboard/standing")
        assert page.status_code == 200
        text = _text(page.text)
        # Newest first, each in words with its figures: what was found, what it means, its end.
        assert text.index("19 of your 20 flags were on 1- or 2-star reviews") < text.index(
            "6 of your 10 decided flags were rejected"
        )
        assert "You cannot contact reviewers or flag reviews until" in text
        assert "In force since" in text and "Expired on" in text
        assert "What to do" in text
        for code in ("negative_only", "rejected_flags", "consumer_warning", "expired"):
            assert code not in text
        assert restriction.id not in text and warning.id not in text

        for path in (
            "/dashboard",
            "/dashboard/flags",
            "/dashboard/webhooks",
            "/dashboard/standing",
        ):
            shown = await api.get(path)
            assert shown.status_code == 200, path
            assert 'data-banner="standing"' in shown.text, path
            assert "Restricted until" in _text(shown.text), path
            assert 'href="/dashboard/standing"' in shown.text, path
    async with web_client(h) as anyone:
        # The banner is the business's own: its public page does not show it to anyone.
        public = (await anyone.get(f"/businesses/{w.business}")).text
        assert 'data-banner="standing"' not in public and "Restricted" not in public

    async with web_client(h) as other:
        await _sign_in(other, w.keys[w.other_business])
        assert 'data-banner="standing"' not in (await other.get("/dashboard")).text
        theirs = _text((await other.get("/dashboard/standing")).text)
        assert "in good standing" in theirs and "19 of your 20" not in theirs

    await _end(h, restriction, StepEnd.LIFTED, NOTE)
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.business])
        assert 'data-banner="standing"' not in (await api.get("/dashboard")).text
        text = _text((await api.get("/dashboard/standing")).text)
        assert "Nothing is in force now" in text
        assert "Lifted early by a moderator" in text and NOTE in text
        assert "were refused while it was in force" in text


async def test_a_warning_and_a_consumer_warning_each_show_in_the_banner(live: Harness) -> None:
    h, w = live, live.world
    await _add(
        h,
        _step(w.business, StandingStepKind.WARNING, lasts=90),
        _step(w.business, StandingStepKind.CONSUMER_WARNING, lasts=90),
    )
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.business])
        text = _text((await api.get("/dashboard")).text)
        assert "Warning until" in text and "Consumer warning until" in text
        assert "Restricted until" not in text


async def test_the_public_page_shows_the_consumer_warning_only_while_it_is_in_force(
    live: Harness,
) -> None:
    h, w = live, live.world
    page = f"/businesses/{w.business}"
    warning = _step(
        w.business,
        StandingStepKind.CONSUMER_WARNING,
        finding=Finding.NEGATIVE_ONLY,
        figures={"flags": 23, "negative": 22},
        lasts=90,
    )
    async with web_client(h) as anyone:
        assert "Consumer warning" not in (await anyone.get(page)).text
        # Steps that are not the consumer warning stay between the business and the platform.
        await _add(h, _step(w.business, StandingStepKind.RESTRICTION))
        assert "Consumer warning" not in (await anyone.get(page)).text

        await _add(h, warning)
        shown = await anyone.get(page)
        assert shown.status_code == 200
        text = _text(shown.text)
        assert "Consumer warning" in text
        assert f"Shop {w.business} misused" in text
        assert "reported almost only its negative reviews" in text
        assert "This warning shows until" in text
        assert "22" not in text and "23" not in text  # no figures on a public page
        assert "Consumer warning" not in (await anyone.get(f"/businesses/{w.other_business}")).text

        await _end(h, warning, StepEnd.EXPIRED)
        assert "Consumer warning" not in (await anyone.get(page)).text


async def test_the_moderators_page_lists_steps_in_force_by_name_and_pages_through_them(
    live: Harness,
) -> None:
    h, w = live, live.world
    notifier = f"nk_{secrets.token_hex(16)}"
    ended = _step(w.other_business, StandingStepKind.WARNING, days_ago=200, lasts=90)
    suspended = _step(
        notifier,
        StandingStepKind.SUSPENSION,
        subject_kind=StandingSubject.NOTIFIER,
        finding=Finding.UNFOUNDED_NOTICES,
        figures={"decided": 5, "rejected": 4},
        days_ago=0,
    )
    # One page and one more: the newest (the notifier's) first, the oldest alone on page 2.
    older = [_step(w.business, StandingStepKind.RESTRICTION, days_ago=2 + i) for i in range(PAGE)]
    await _add(h, ended, suspended, *older)
    await _end(h, ended, StepEnd.EXPIRED)

    async with web_client(h) as api:
        assert (await api.get("/moderation/standing")).headers["location"] == "/login"
        await _sign_in(api, w.keys[w.business])
        assert (await api.get("/moderation/standing")).status_code == 303

    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.moderator])
        assert 'href="/moderation/standing"' in (await api.get("/moderation")).text
        first = await api.get("/moderation/standing")
        assert first.status_code == 200
        text = _text(first.text)
        assert first.text.count('class="card step"') == PAGE
        assert text.index("A notifier") < text.index(f"Shop {w.business}")
        assert "4 of their 5 decided notices were found unfounded" in text
        assert "6 of its 10 decided flags were rejected" in text
        assert "Notices from this person are refused until" in text
        assert notifier not in first.text  # not even in a link
        assert f"Shop {w.other_business}" not in text  # its only step ended
        assert older[-1].id not in first.text
        assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
        assert first.text.count('name="note"') == PAGE

        second = await api.get("/moderation/standing?page=2")
        assert second.text.count('class="card step"') == 1
        assert f"/moderation/standing/{older[-1].id}/lift" in second.text
        assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
        third = _text((await api.get("/moderation/standing?page=3")).text)
        assert "No more steps in force" in third


async def test_a_lift_without_a_note_is_refused_and_changes_nothing(live: Harness) -> None:
    h, w = live, live.world
    restriction = _step(w.business, StandingStepKind.RESTRICTION)
    await _add(h, restriction)
    url = f"/moderation/standing/{restriction.id}/lift"
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.moderator])
        csrf = _csrf((await api.get("/moderation/standing")).text)

        empty = await api.post(url, data={"csrf": csrf, "note": "   ", "confirmed": "yes"})
        assert empty.status_code == 422
        assert "Write a note" in _text(empty.text)
        forged = await api.post(url, data={"csrf": "forged", "note": NOTE, "confirmed": "yes"})
        assert forged.status_code == 403
        unknown = await api.post(
            "/moderation/standing/step_nope/lift", data={"csrf": csrf, "note": NOTE}
        )
        assert unknown.status_code == 404

        # With a note, first a confirmation: the step is still in force until it is confirmed.
        confirm = await api.post(url, data={"csrf": csrf, "note": NOTE})
        assert confirm.status_code == 200
        text = _text(confirm.text)
        assert "This cannot be undone" in text and NOTE in text
        assert f"Shop {w.business} can contact reviewers and flag reviews again" in text
        assert 'name="confirmed" value="yes"' in confirm.text
    assert (await _get_step(h, restriction.id)).in_force

    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.business])
        as_business = await api.post(url, data={"csrf": _csrf((await api.get("/dashboard")).text)})
        assert as_business.status_code == 401
        assert 'data-banner="standing"' in (await api.get("/dashboard")).text
    assert (await _get_step(h, restriction.id)).in_force


async def test_a_moderator_lifts_a_restriction_with_a_note_after_a_confirmation(
    live: Harness,
) -> None:
    h, w = live, live.world
    restriction = _step(w.business, StandingStepKind.RESTRICTION)
    await _add(h, restriction)
    url = f"/moderation/standing/{restriction.id}/lift"
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.moderator])
        csrf = _csrf((await api.get("/moderation/standing")).text)
        confirm = await api.post(url, data={"csrf": csrf, "note": NOTE})
        key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm.text)
        assert key
        sent = {"csrf": csrf, "note": NOTE, "confirmed": "yes", "idempotency_key": key.group(1)}
        lifted = await api.post(url, data=sent)
        assert lifted.status_code == 303
        assert lifted.headers["location"] == "/moderation/standing?notice=lifted"
        again = await api.post(url, data=sent)  # the same form sent twice: one lift
        assert again.status_code == 303
        listed = await api.get(lifted.headers["location"])
        assert "The step is lifted" in _text(listed.text)
        assert restriction.id not in listed.text
        later = await api.post(url, data={**sent, "idempotency_key": "another-form"})
        assert later.status_code == 409

    step = await _get_step(h, restriction.id)
    assert step.end_reason is StepEnd.LIFTED and step.lifted_by == w.moderator
    assert step.lift_note == NOTE
    async with web_client(h) as api:
        await _sign_in(api, w.keys[w.business])
        assert 'data-banner="standing"' not in (await api.get("/dashboard")).text
        text = _text((await api.get("/dashboard/standing")).text)
        assert "Lifted early by a moderator" in text and NOTE in text
