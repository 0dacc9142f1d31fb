"""Records the stored histories the replay test checks: ``python -m tests.record_histories``.

Run it only when a released workflow changes on purpose (behind ``workflow.patched``), and keep
the old files: every history ever released must still replay.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from starter.service import Reviewdesk
from store import Database
from tests import flows
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
                    for kind, history in (await done.histories(h)).items():
                        target = HISTORIES / f"{tag}_{kind}_{name}.json"
                        target.write_text(history.to_json())
                        print(f"wrote {target}")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
