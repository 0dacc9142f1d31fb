"""The misuse guard's pages (DESIGN rule 12), with steps put in the store as the standing workflow
records them: the business's standing in words, the banner on its pages only while a step is in
force, the public "Consumer warning" (on the page and in the public API), the moderators' view of
the ladder and its lift form."""

from __future__ import annotations

import html
import re
import secrets
from datetime import datetime, timedelta

from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from starter.web.reads import PAGE
from store import standing
from store.records import StandingStep, now
from tests.conftest import Harness
from tests.web import csrf_of, sign_in, web_client

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
        await sign_in(api, w.keys[w.business])
        good = (await api.get("/dashboard/standing")).text
        assert "in good standing" in _text(good)
        # How a finding is counted, as the ladder counts it: only flags since the last step.
        assert "since our last step" in _text(good)
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
        await sign_in(other, w.keys[w.other_business])
        assert 'data-banner="standing"' not in (await other.get("/dashboard")).text
        theirs = _text((await other.get("/dashboard/standing")).text)
        assert "in good standing" in theirs and "19 of your 20" not in theirs

    await _end(h, restriction, StepEnd.LIFTED, NOTE)
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.business])
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
        await sign_in(api, w.keys[w.business])
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
        figures={"flags": 78, "negative": 77},
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
        # No figures on a public page (numbers no date, time of day or id can show alone).
        assert re.search(r"\b(77|78)\b", text) is None
        assert "Consumer warning" not in (await anyone.get(f"/businesses/{w.other_business}")).text

        await _end(h, warning, StepEnd.EXPIRED)
        assert "Consumer warning" not in (await anyone.get(page)).text


async def test_the_public_api_carries_the_consumer_warning_only_while_it_is_in_force(
    live: Harness,
) -> None:
    """A platform that builds the business's page from the API shows the warning too."""
    h, w = live, live.world
    url = f"/api/v1/businesses/{w.business}/reviews"
    warning = _step(
        w.business,
        StandingStepKind.CONSUMER_WARNING,
        finding=Finding.NEGATIVE_ONLY,
        figures={"flags": 78, "negative": 77},
        lasts=90,
    )
    async with web_client(h) as anyone:
        assert (await anyone.get(url)).json()["consumer_warning"] is None
        # A restriction stays between the business and the platform.
        await _add(h, _step(w.business, StandingStepKind.RESTRICTION))
        assert (await anyone.get(url)).json()["consumer_warning"] is None

        await _add(h, warning)
        page = await anyone.get(url)
        assert page.status_code == 200
        shown = page.json()["consumer_warning"]
        assert set(shown) == {"finding", "explanation", "ends_at"}
        assert shown["finding"] == "negative_only"
        assert f"Shop {w.business} misused" in shown["explanation"]
        assert "reported almost only its negative reviews" in shown["explanation"]
        assert re.search(r"\b(77|78)\b", shown["explanation"]) is None
        stored = await _get_step(h, warning.id)
        assert datetime.fromisoformat(shown["ends_at"]) == stored.ends_at
        other = f"/api/v1/businesses/{w.other_business}/reviews"
        assert (await anyone.get(other)).json()["consumer_warning"] is None

        await _end(h, warning, StepEnd.EXPIRED)
        assert (await anyone.get(url)).json()["consumer_warning"] is None


def _notifier_step(
    days_ago: int, kind: StandingStepKind = StandingStepKind.WARNING
) -> StandingStep:
    return _step(
        f"nk_{secrets.token_hex(16)}",
        kind,
        subject_kind=StandingSubject.NOTIFIER,
        finding=Finding.UNFOUNDED_NOTICES,
        figures={"decided": 5, "rejected": 4},
        days_ago=days_ago,
    )


def _cards(page: str) -> list[str]:
    """Each business's or notifier's card on the moderators' view of the ladder."""
    return re.findall(r'<section class="card subject">(.*?)</section>', page, re.DOTALL)


async def test_the_moderators_page_lists_each_subject_once_with_its_steps_and_pages_by_subject(
    live: Harness,
) -> None:
    h, w = live, live.world
    ended = _step(w.other_business, StandingStepKind.WARNING, days_ago=200, lasts=90)
    suspended = _notifier_step(0, StandingStepKind.SUSPENSION)
    # A business warned, then restricted after another finding: one subject with two steps.
    warning = _step(w.business, StandingStepKind.WARNING, days_ago=3, lasts=90)
    restriction = _step(w.business, StandingStepKind.RESTRICTION, days_ago=1)
    # A page of subjects and one more: the notifier newest first, the oldest alone on page 2.
    others = [_notifier_step(4 + i) for i in range(PAGE - 1)]
    await _add(h, ended, suspended, warning, restriction, *others)
    await _end(h, ended, StepEnd.EXPIRED)

    async with web_client(h) as api:
        assert (await api.get("/moderation/standing")).headers["location"] == "/login"
        await sign_in(api, w.keys[w.business])
        assert (await api.get("/moderation/standing")).status_code == 303

    async with web_client(h) as api:
        await sign_in(api, w.keys[w.moderator])
        assert 'href="/moderation/standing"' in (await api.get("/moderation")).text
        first = await api.get("/moderation/standing")
        assert first.status_code == 200
        text = _text(first.text)
        cards = _cards(first.text)
        assert len(cards) == PAGE
        assert text.count(f"Shop {w.business}") == 1
        assert text.index("A notifier") < text.index(f"Shop {w.business}")
        assert "4 of their 5 decided notices were found unfounded" in text
        assert "Notices from this person are refused until" in text
        assert suspended.subject_id not in first.text  # not even in a link
        assert f"Shop {w.other_business}" not in text  # its only step ended

        # The business's card: both its steps in force, newest first, each with its lift form.
        [business] = [c for c in cards if f"Shop {w.business}" in c]
        in_words = _text(business)
        assert in_words.index("No new contacts with reviewers or flags until") < in_words.index(
            "A warning: nothing is blocked yet"
        )
        assert in_words.count("6 of its 10 decided flags were rejected") == 2
        assert business.count('name="note"') == 2
        for step in (restriction, warning):
            assert f"/moderation/standing/{step.id}/lift" in business
        assert first.text.count('name="note"') == PAGE + 1

        assert others[-1].id not in first.text
        assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
        second = await api.get("/moderation/standing?page=2")
        assert len(_cards(second.text)) == 1
        assert f"/moderation/standing/{others[-1].id}/lift" in second.text
        assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
        third = _text((await api.get("/moderation/standing?page=3")).text)
        assert "No more businesses or notifiers with a step in force" in third


async def test_a_lift_without_a_note_is_refused_and_changes_nothing(live: Harness) -> None:
    h, w = live, live.world
    restriction = _step(w.business, StandingStepKind.RESTRICTION)
    await _add(h, restriction)
    url = f"/moderation/standing/{restriction.id}/lift"
    async with web_client(h) as api:
        await sign_in(api, w.keys[w.moderator])
        csrf = csrf_of((await api.get("/moderation/standing")).text)

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
        await sign_in(api, w.keys[w.business])
        as_business = await api.post(
            url, data={"csrf": csrf_of((await api.get("/dashboard")).text)}
        )
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
        await sign_in(api, w.keys[w.moderator])
        csrf = csrf_of((await api.get("/moderation/standing")).text)
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
        await sign_in(api, w.keys[w.business])
        assert 'data-banner="standing"' not in (await api.get("/dashboard")).text
        text = _text((await api.get("/dashboard/standing")).text)
        assert "Lifted early by a moderator" in text and NOTE in text
