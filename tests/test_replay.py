"""Every released history still replays on today's workflow code (acceptance 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tests.conftest import HISTORIES
from worker import WORKFLOWS

STORED = sorted(HISTORIES.glob("*.json"))


def test_stored_histories_cover_both_workflows() -> None:
    names = {p.name for p in STORED}
    assert any("_contact_" in n for n in names) and any("_report_" in n for n in names)


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
async def test_stored_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
