"""Records the stored histories the replay test checks: ``python -m tests.record_histories``.

Run it only when a released workflow changes on purpose (behind ``workflow.patched``), or a new
one is released, under a new tag (``python -m tests.record_histories v5``), and keep the old
files: every history ever released must still replay. From v4 on it records the moderation
workflows too (flag, report from a flag or a notice, notice, appeal: ``tests/moderation_flows``);
from v5 on the standing workflow (a step taken, lifted, expired, a run continued as new:
``tests/standing_flows``), and the flag and report workflows with their step telling it.
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
from tests import flows, moderation_flows, standing_flows
from tests.conftest import HISTORIES, Harness, installed_binary
from tests.world import make_world
from worker import build_worker


async def record(tag: str) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record")
        async with env, Database(settings.store_path) as db:
            world = await make_world(db)
            h = Harness(env, env.client, db, settings, Reviewdesk(env.client, db, settings), world)
            async with build_worker(env.client, db, settings):
                for name, journey in (
                    ("replied_rejected", flows.replied_then_rejected),
                    ("silent_escalated_upheld", flows.silent_escalated_then_upheld),
                ):
                    done = await journey(h)
                    _write(tag, name, await done.histories(h))
                # The moderation workflows (issue 17), each journey on reviews of its own.
                world = await make_world(db)
                h = Harness(
                    env, env.client, db, settings, Reviewdesk(env.client, db, settings), world
                )
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
            # The standing workflow (issue 18), on a server of its own: its findings compare the
            # store's times with the server's, which the journeys above skipped days ahead; and
            # with lower thresholds than the other journeys' settings.
            low = settings.model_copy(
                update={**standing_flows.LOW_THRESHOLDS, "task_queue": "record-standing"}
            )
            fresh = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=installed_binary("temporal-test-server"),
                data_converter=pydantic_data_converter,
            )
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


def _write(tag: str, name: str, histories: dict[str, WorkflowHistory]) -> None:
    for kind, history in histories.items():
        target = HISTORIES / f"{tag}_{kind}_{name}.json"
        # Every history ever released must still replay: never overwrite one.
        if target.exists():
            raise SystemExit(f"{target} exists: record under a new tag")
        target.write_text(history.to_json())
        print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
