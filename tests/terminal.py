"""`reviewdesk ...` as a terminal runs it, against a test's server, store and task queue."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner, Result

from settings import get_settings
from starter.cli import app
from tests.conftest import Harness


async def run_cli(h: Harness, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    env = {
        "REVIEWDESK_DATA_DIR": str(h.settings.data_dir),
        "REVIEWDESK_TASK_QUEUE": h.settings.task_queue,
        "REVIEWDESK_TEMPORAL_ADDRESS": h.client.service_client.config.target_host,
        "REVIEWDESK_PUBLIC_BASE_URL": h.settings.public_base_url,
        "REVIEWDESK_DATABASE_URL": h.settings.store_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        # The CLI runs an event loop of its own, so it runs on a thread of its own.
        return await asyncio.to_thread(CliRunner().invoke, app, list(args))
    finally:
        get_settings.cache_clear()
