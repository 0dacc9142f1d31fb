"""Records the stored histories the replay test checks: ``python -m tests.record_histories``.

Run it only when a released workflow changes on purpose (behind ``workflow.patched``), or a new
one is released, under a new tag (``python -m tests.record_histories v5``), and keep the old
files: every history ever released must still replay. From v4 on it records the moderation
workflows too (flag, report from a flag or a notice, notice, appeal: ``tests/moderation_flows``);
from v5 on the standing workflow (a step taken, lifted, expired, a run continued as new:
``tests/standing_flows``), and the flag and report workflows with their step telling it;
from v6 the ticket workflow (reminded then solved, reminded and breached: ``tests/ticket_flows``);
from v7 the ticket workflow answered (replied before its reminder, breached then sent as solved,
marked spam, with its flag sent straight to moderation: sections ``answers`` and ``spam``).

Name the journeys to record after the tag to record only those (``python -m tests.record_histories
v6 ticket``): a tag may then hold a later workflow's histories beside earlier ones.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from starter.service import Reviewdesk
from store import Database
from tests import flows, moderation_flows, standing_flows, ticket_flows
from tests.conftest import HISTORIES, Harness, installed_binary
from tests.world import make_world
from worker import build_worker

SECTIONS = ("contact", "moderation", "standing", "ticket", "answers", "spam")


async def record(tag: str, sections: tuple[str, ...] = SECTIONS) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record")
        async with Database(settings.store_path) as db:
            if "contact" in sections or "moderation" in sections:
                await _contact_and_moderation(tag, sections, db, settings)
            if "standing" in sections:
                await _standing(tag, db, settings)
            if "ticket" in sections:
                await _tickets(tag, db, settings)
            if "answers" in sections or "spam" in sections:
                await _answers(tag, sections, db, settings)


async def _skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )


async def _contact_and_moderation(
    tag: str, sections: tuple[str, ...], db: Database, settings: Settings
) -> None:
    env = await _skipping()
    async with env, build_worker(env.client, db, settings):
        world = await make_world(db)
        h = Harness(env, env.client, db, settings, Reviewdesk(env.client, db, settings), world)
        if "contact" in sections:
            for name, journey in (
                ("replied_rejected", flows.replied_then_rejected),
                ("silent_escalated_upheld", flows.silent_escalated_then_upheld),
            ):
                done = await journey(h)
                _write(tag, name, await done.histories(h))
        if "moderation" not in sections:
            return
        # The moderation workflows (issue 17), each journey on reviews of its own.
        world = await make_world(db)
        h = Harness(env, env.client, db, settings, Reviewdesk(env.client, db, settings), world)
        removed = await moderation_flows.flag_edited_escalated_removed(h)
        _write(tag, "edited_escalated_removed", await removed.histories(h))
        appealed = await moderation_flows.appeal_granted(h, removed)
        _write(tag, "granted", await appealed.histories(h))
        for name, moderation_journey in (
            ("silent_escalated_rejected", moderation_flows.flag_silent_escalated_rejected),
            ("harmful_upheld", moderation_flows.harmful_flag_upheld),
            ("notice_upheld", moderation_flows.notice_upheld),
        ):
            ended = await moderation_journey(h)
            _write(tag, name, await ended.histories(h))


async def _standing(tag: str, db: Database, settings: Settings) -> None:
    """The standing workflow (issue 18), on a server of its own: its findings compare the store's
    times with the server's, which the journeys above skipped days ahead; and with lower
    thresholds than the other journeys' settings."""
    low = settings.model_copy(
        update={**standing_flows.LOW_THRESHOLDS, "task_queue": "record-standing"}
    )
    fresh = await _skipping()
    world = await make_world(db)
    h = Harness(fresh, fresh.client, db, low, Reviewdesk(fresh.client, db, low), world)
    async with fresh, build_worker(fresh.client, db, low):
        lifted = await standing_flows.warning_lifted(h)
        _write(tag, "lifted", await lifted.histories(h))
        expired = await standing_flows.warning_expired(h)
        _write(tag, "expired", await expired.histories(h))
        runs, _ = await standing_flows.continued_as_new(h)
        _write(tag, "continued_as_new", {"standing": runs["first"]})
        _write(tag, "after_continue_as_new", {"standing": runs["continued"]})


async def _tickets(tag: str, db: Database, settings: Settings) -> None:
    """The ticket workflow (issue 19), on a server of its own: a ticket's times are fixed by the
    store's clock when it opens, which a server skipped days ahead would find long past."""
    own = settings.model_copy(update={"task_queue": "record-ticket"})
    fresh = await _skipping()
    world = await make_world(db)
    h = Harness(fresh, fresh.client, db, own, Reviewdesk(fresh.client, db, own), world)
    async with fresh, build_worker(fresh.client, db, own):
        lives = await ticket_flows.reminded_solved_and_breached(h)
        for name, history in (await lives.histories(h)).items():
            _write(tag, name, {"ticket": history})


async def _answers(tag: str, sections: tuple[str, ...], db: Database, settings: Settings) -> None:
    """The ticket workflow answered (issue 20), on a server of its own for the reason above. Its
    updates complete within the call that sends them, on a clock that moves only when told."""
    own = settings.model_copy(update={"task_queue": "record-answers"})
    fresh = await _skipping()
    world = await make_world(db)
    h = Harness(fresh, fresh.client, db, own, Reviewdesk(fresh.client, db, own), world)
    async with fresh, build_worker(fresh.client, db, own):
        if "spam" in sections:  # before the clock moves: marked while the ticket is new
            spam = await ticket_flows.marked_spam(h)
            _write(tag, "marked_spam", await spam.histories(h))
        if "answers" in sections:
            lives = await ticket_flows.answered_lives(h)
            for name, history in (await lives.histories(h)).items():
                _write(tag, name, {"ticket": history})


def _write(tag: str, name: str, histories: dict[str, WorkflowHistory]) -> None:
    for kind, history in histories.items():
        target = HISTORIES / f"{tag}_{kind}_{name}.json"
        # Every history ever released must still replay: never overwrite one.
        if target.exists():
            raise SystemExit(f"{target} exists: record under a new tag")
        target.write_text(history.to_json())
        print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1", tuple(sys.argv[2:]) or SECTIONS))
