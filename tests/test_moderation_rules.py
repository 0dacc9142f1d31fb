"""The rules moderation shares (store/moderation.py): a review's visibility under several
reports and appeals, ``already_cleared``, and a flag joining notices' report. Both stores."""

from __future__ import annotations

from datetime import timedelta

from domain.enums import (
    AppealDecision,
    AppealStatus,
    Appellant,
    Decision,
    FlagReason,
    ReportSource,
    ReportStatus,
    SubReason,
    Visibility,
)
from store import Store, appeals, moderation, reports
from store.records import Appeal, DecisionRecord, now
from tests.world import World, make_world


async def _report(db: Store, w: World, reason: FlagReason, review: str = "organic") -> str:
    report_id = f"rp_{reason.value}_{review}"
    async with db.tx() as conn:
        await moderation.add_report(
            conn,
            id=report_id,
            review_id=w.review[review],
            business_id=w.business,
            reason=reason,
            sub_reason=SubReason.DEFAMATION if reason.high_priority else None,
            source=ReportSource.FLAG,
            opened_at=now(),
            sla_deadline=now() + timedelta(days=2),
        )
        await moderation.settle_visibility(conn, w.review[review])
    return report_id


async def _decide(db: Store, w: World, report_id: str, decision: Decision) -> str:
    decision_id = f"dc_{report_id}"
    status = ReportStatus.UPHELD if decision is Decision.UPHOLD else ReportStatus.REJECTED
    async with db.tx() as conn:
        await reports.add_decision(
            conn,
            DecisionRecord(
                id=decision_id,
                report_id=report_id,
                moderator_id=w.moderator,
                decision=decision,
                note="",
                submitted_at=now(),
            ),
        )
        await reports.mark_decided(
            conn, report_id, status=status, decision_id=decision_id, at=now()
        )
        review = await reports.get_report(conn, report_id)
        assert review is not None
        await moderation.settle_visibility(conn, review.review_id)
    return decision_id


async def _granted(db: Store, w: World, report_id: str, decision_id: str) -> None:
    async with db.tx() as conn:
        report = await reports.get_report(conn, report_id)
        assert report is not None
        await appeals.add_appeal(
            conn,
            Appeal(
                id=f"ap_{decision_id}",
                decision_id=decision_id,
                report_id=report_id,
                review_id=report.review_id,
                appellant=Appellant.REVIEWER,
                appellant_id=w.reviewer,
                statement="Please look again.",
                status=AppealStatus.PENDING,
                opened_at=now(),
                sla_deadline=now() + timedelta(days=5),
            ),
            idempotency_key=None,
        )
        await appeals.mark_decided(
            conn,
            f"ap_{decision_id}",
            status=AppealStatus.GRANTED,
            moderator_id=w.second_moderator,
            decision=AppealDecision.GRANT,
            at=now(),
        )
        await moderation.settle_visibility(conn, report.review_id)


async def _visibility(db: Store, w: World, review: str = "organic") -> Visibility:
    async with db.read() as conn:
        return await moderation.visibility_now(conn, w.review[review])


async def test_a_rejection_of_one_report_never_shows_a_review_another_report_hides(
    db: Store,
) -> None:
    w = await make_world(db)
    hiding = await _report(db, w, FlagReason.NOT_GENUINE)
    other = await _report(db, w, FlagReason.PERSONAL_INFORMATION)
    assert await _visibility(db, w) is Visibility.HIDDEN
    await _decide(db, w, other, Decision.REJECT)
    assert await _visibility(db, w) is Visibility.HIDDEN
    await _decide(db, w, hiding, Decision.REJECT)
    assert await _visibility(db, w) is Visibility.VISIBLE


async def test_an_appeal_granted_reverses_the_visibility_and_clears_the_reason_for_good(
    db: Store,
) -> None:
    w = await make_world(db)
    personal = FlagReason.PERSONAL_INFORMATION
    report_id = await _report(db, w, personal)
    assert await _visibility(db, w) is Visibility.VISIBLE  # visible while handled
    decision_id = await _decide(db, w, report_id, Decision.UPHOLD)
    assert await _visibility(db, w) is Visibility.REMOVED
    async with db.read() as conn:
        assert not await moderation.cleared(conn, w.review["organic"], personal)

    await _granted(db, w, report_id, decision_id)

    assert await _visibility(db, w) is Visibility.VISIBLE
    # Reinstated on appeal, a decision final on the platform: no new flag for that reason.
    async with db.read() as conn:
        assert await moderation.cleared(conn, w.review["organic"], personal)
        assert not await moderation.cleared(conn, w.review["organic"], FlagReason.WRONG_BUSINESS)


async def test_a_rejection_reversed_on_appeal_removes_and_is_no_longer_cleared(db: Store) -> None:
    w = await make_world(db)
    report_id = await _report(db, w, FlagReason.WRONG_BUSINESS)
    decision_id = await _decide(db, w, report_id, Decision.REJECT)
    async with db.read() as conn:
        assert await moderation.cleared(conn, w.review["organic"], FlagReason.WRONG_BUSINESS)
    await _granted(db, w, report_id, decision_id)
    assert await _visibility(db, w) is Visibility.REMOVED
    async with db.read() as conn:
        assert not await moderation.cleared(conn, w.review["organic"], FlagReason.WRONG_BUSINESS)


async def test_a_review_removed_outside_moderation_stays_removed(db: Store) -> None:
    w = await make_world(db)
    assert await _visibility(db, w, "removed") is Visibility.REMOVED


async def test_a_flag_joining_the_notices_report_makes_it_the_business_s(db: Store) -> None:
    w = await make_world(db)
    async with db.tx() as conn:
        await moderation.add_report(
            conn,
            id="rp_notices",
            review_id=w.review["organic"],
            business_id=w.business,
            reason=FlagReason.HARMFUL_OR_ILLEGAL,
            sub_reason=SubReason.HATE_SPEECH,
            source=ReportSource.NOTICE,
            opened_at=now(),
            sla_deadline=now() + timedelta(days=1),
        )
        joined = await moderation.join_flag(conn, "rp_notices", "fl_business")
        again = await moderation.join_flag(conn, "rp_notices", "fl_other")
    assert (joined.source, joined.flag_id) == (ReportSource.FLAG, "fl_business")
    assert again.flag_id == "fl_business"  # the first flag keeps it
