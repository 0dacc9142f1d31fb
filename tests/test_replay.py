"""Every released history still replays on today's workflow code (acceptance 8; issue 17's
acceptance 6 for the flag, notice and appeal workflows; issue 18's StandingWorkflow; issue 19's
TicketWorkflow; issue 20's answered tickets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.conftest import HISTORIES
from worker import WORKFLOWS

STORED = sorted(HISTORIES.glob("*.json"))


def test_stored_histories_cover_every_released_workflow() -> None:
    names = {p.name for p in STORED}
    assert any("_contact_" in n for n in names) and any("_report_" in n for n in names)
    # Issue 17's workflows, and the report workflow started by a flag and by a notice.
    for kind in ("flag", "notice", "appeal"):
        assert any(n.startswith(f"v4_{kind}_") for n in names), kind
    for started_by in ("edited_escalated_removed", "harmful_upheld", "notice_upheld"):
        assert f"v4_report_{started_by}.json" in names, started_by
    # Issue 18: StandingWorkflow with a step taken and lifted, taken and expired, and a run that
    # continued as new (and the run after it); the flag and report workflows with the step that
    # tells the standing workflow.
    for journey in ("lifted", "expired", "continued_as_new", "after_continue_as_new"):
        assert f"v5_standing_{journey}.json" in names, journey
    assert "v5_flag_harmful_upheld.json" in names and "v5_report_harmful_upheld.json" in names
    # Issue 19: TicketWorkflow reminded then ended on a solved ticket, and reminded, breached and
    # still waiting (a history without its end replays too).
    for journey in ("reminded_solved", "breached"):
        assert f"v6_ticket_{journey}.json" in names, journey
    # Issue 20: TicketWorkflow v7 ended by its answer (its update in the history): a reply before
    # the reminder, a reply sent as solved after the breach, a spam mark; and the spam mark's
    # flag, sent straight to moderation.
    for journey in ("replied", "breached_sent_solved", "marked_spam"):
        assert f"v7_ticket_{journey}.json" in names, journey
    assert "v7_flag_marked_spam.json" in names
    # Every workflow the worker runs is stored, but delivery: it starts only for a message that
    # failed at its first try, which no recorded journey has.
    started = [WorkflowHistory.from_json(p.stem, p.read_text()).events[0] for p in STORED]
    types = {e.workflow_execution_started_event_attributes.workflow_type.name for e in started}
    assert types == {w.__name__ for w in WORKFLOWS} - {"MessageDeliveryWorkflow"}, types


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
async def test_stored_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
