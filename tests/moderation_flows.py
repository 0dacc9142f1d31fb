"""Whole journeys of the moderation workflows (issue 17), shared by the privacy scan and the
recorder of stored histories: a flag through the reviewer's edit and the business's escalation
to a removal, the reviewer's appeal of it granted; a notice from the public, upheld.

What people write here is distinctive, so a scan of the histories finds it if it leaked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import WorkflowHistory

from delivery.links import Links, Purpose
from domain import (
    appeal_workflow_id,
    flag_workflow_id,
    notice_workflow_id,
    report_workflow_id_of,
)
from domain.enums import (
    AppealDecision,
    AppealStatus,
    Decision,
    FlagReason,
    FlagStatus,
    Restriction,
    ReviewerAction,
    SubReason,
    Visibility,
)
from starter.appeal_inputs import AppealBody, AppealDecisionBody
from starter.flag_inputs import FlagBody, ReviewEditBody
from starter.inputs import DecisionBody
from starter.notice_inputs import NoticeBody
from store import statements
from tests.conftest import Harness

FLAG_EXPLANATION = "FLAGWORDS the review names Jo Bloggs of 12 Quay Street"
EDITED_TEXT = "EDITWORDS the pastry was dry and the till queue was long"
EDITED_TITLE = "EDITTITLE Dry pastry"
NOTICE_NAME = "Noor Notifier-Quintana"
NOTICE_EMAIL = "noor.quintana@notifier-private.example"
NOTICE_EXPLANATION = "NOTICEWORDS this review accuses the baker of a crime he did not commit"
APPEAL_STATEMENT = "APPEALWORDS I was there on the 4th and kept my receipt"
DECISION_NOTE = "NOTEWORDS the review identified a member of staff"
APPEAL_NOTE = "APPEALNOTE the edit had already taken the name out"
LEGAL_GROUND = "LEGALGROUND Defamation Act 2013 s.1"


@dataclass
class Journey:
    """The workflows a journey ran (kind: workflow id), and the one-time tokens it used."""

    workflows: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    decision_id: str | None = None
    report_id: str | None = None

    async def histories(self, h: Harness) -> dict[str, WorkflowHistory]:
        found = {}
        for kind, workflow_id in self.workflows.items():
            handle = h.client.get_workflow_handle(workflow_id)
            await handle.result()
            found[kind] = await handle.fetch_history()
        return found


def _report_workflow(report_id: str, review_id: str) -> str:
    return report_workflow_id_of(report_id, review_id, after_contact=False)


async def flag_edited_escalated_removed(h: Harness) -> Journey:
    """Personal information: the reviewer edits, the business escalates, the first moderator
    removes the review."""
    w = h.world
    review_id = w.review["organic"]
    links = Links.of(h.settings)
    flagged = await h.service.flags.flag(
        w.business,
        review_id,
        FlagBody(reason=FlagReason.PERSONAL_INFORMATION, explanation=FLAG_EXPLANATION),
    )
    flag_id = flagged.flag.id
    flag_token = links.token(Purpose.FLAG, flag_id)
    await h.service.flags.act(
        flag_token, ReviewerAction.EDIT, ReviewEditBody(title=EDITED_TITLE, text=EDITED_TEXT)
    )
    escalated = await h.service.flags.escalate(w.business, flag_id)
    assert escalated.report is not None
    report_id = escalated.report.id
    decided = await h.service.decide(
        w.moderator, report_id, DecisionBody(decision=Decision.UPHOLD, note=DECISION_NOTE)
    )
    assert decided.report.decision_id is not None
    return Journey(
        workflows={
            "flag": flag_workflow_id(flag_id),
            "report": _report_workflow(report_id, review_id),
        },
        tokens=[flag_token],
        ids=[flag_id, report_id],
        decision_id=decided.report.decision_id,
        report_id=report_id,
    )


async def flag_silent_escalated_rejected(h: Harness) -> Journey:
    """Wrong business: the reviewer lets their window pass (a timer), the business escalates,
    the moderator rejects."""
    w = h.world
    review_id = w.review["platform"]
    flagged = await h.service.flags.flag(
        w.business,
        review_id,
        FlagBody(reason=FlagReason.WRONG_BUSINESS, explanation=FLAG_EXPLANATION),
    )
    flag_id = flagged.flag.id
    await h.env.sleep(h.settings.reviewer_step_window + timedelta(minutes=1))

    async def business_turn() -> bool:
        view = await h.service.flags.flag_of(w.business, flag_id)
        return view.flag.status is FlagStatus.AWAITING_BUSINESS

    await h.eventually(business_turn)
    escalated = await h.service.flags.escalate(w.business, flag_id)
    assert escalated.report is not None
    report_id = escalated.report.id
    await h.service.decide(
        w.moderator, report_id, DecisionBody(decision=Decision.REJECT, note=DECISION_NOTE)
    )
    return Journey(
        workflows={
            "flag": flag_workflow_id(flag_id),
            "report": _report_workflow(report_id, review_id),
        },
        tokens=[Links.of(h.settings).token(Purpose.FLAG, flag_id)],
        ids=[flag_id, report_id],
    )


async def harmful_flag_upheld(h: Harness) -> Journey:
    """Harmful or illegal: straight to the moderators, who remove the review as illegal."""
    w = h.world
    review_id = w.review["organic2"]
    flagged = await h.service.flags.flag(
        w.business,
        review_id,
        FlagBody(
            reason=FlagReason.HARMFUL_OR_ILLEGAL,
            sub_reason=SubReason.THREATS_OR_VIOLENCE,
            explanation=FLAG_EXPLANATION,
        ),
    )
    assert flagged.report is not None
    report_id = flagged.report.id

    async def opened() -> bool:
        view = await h.service.report_view(report_id)
        return "opened" in [e.type for e in view.history]

    await h.eventually(opened)
    await h.service.decide(
        w.moderator,
        report_id,
        DecisionBody(decision=Decision.UPHOLD, note=DECISION_NOTE, legal_ground=LEGAL_GROUND),
    )
    return Journey(
        workflows={
            "flag": flag_workflow_id(flagged.flag.id),
            "report": _report_workflow(report_id, review_id),
        },
        ids=[flagged.flag.id, report_id],
    )


async def appeal_granted(h: Harness, removed: Journey) -> Journey:
    """The reviewer appeals the removal through their statement's link; the second moderator
    grants it, and the review is reinstated."""
    w = h.world
    assert removed.decision_id is not None and removed.report_id is not None
    async with h.db.read() as conn:
        found = await statements.statements_of_report(conn, removed.report_id)
    [removal] = [s for s in found if s.restriction is Restriction.REMOVED]
    token = Links.of(h.settings).token(Purpose.APPEAL, removal.id)
    appealed = await h.service.appeals.by_reviewer(token, AppealBody(statement=APPEAL_STATEMENT))
    granted = await h.service.appeals.decide(
        w.second_moderator,
        appealed.appeal.id,
        AppealDecisionBody(decision=AppealDecision.GRANT, note=APPEAL_NOTE),
    )
    assert granted.appeal.status is AppealStatus.GRANTED
    assert (await h.review(granted.review.id)).visibility is Visibility.VISIBLE
    return Journey(
        workflows={"appeal": appeal_workflow_id(removed.decision_id)},
        tokens=[token],
        ids=[appealed.appeal.id, removed.decision_id],
    )


async def notice_upheld(h: Harness) -> Journey:
    """A notice from someone without an account; the moderator removes the review as illegal,
    naming the law (which goes into the statement of reasons, never into a workflow)."""
    w = h.world
    review_id = w.review["external"]
    out = await h.service.notices.submit(
        NoticeBody(
            review_id=review_id,
            sub_reason=SubReason.DEFAMATION,
            explanation=NOTICE_EXPLANATION,
            name=NOTICE_NAME,
            email=NOTICE_EMAIL,
            good_faith=True,
        )
    )
    notice = h.client.get_workflow_handle(notice_workflow_id(out.notice_id))
    await notice.result()
    found = await h.service.notices.notice(out.notice_id)
    assert found.report_id is not None
    report_id = found.report_id

    async def opened() -> bool:
        view = await h.service.report_view(report_id)
        return "opened" in [e.type for e in view.history]

    await h.eventually(opened)
    await h.service.decide(
        w.moderator,
        report_id,
        DecisionBody(decision=Decision.UPHOLD, note=DECISION_NOTE, legal_ground=LEGAL_GROUND),
    )
    return Journey(
        workflows={
            "notice": notice_workflow_id(out.notice_id),
            "report": _report_workflow(report_id, review_id),
        },
        tokens=[Links.of(h.settings).token(Purpose.NOTICE, out.notice_id)],
        ids=[out.notice_id, report_id],
    )
