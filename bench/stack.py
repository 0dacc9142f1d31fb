"""The embedded default, started for a run: dev server, worker and web app as processes.

Each runs as its own process with ``REVIEWDESK_*`` settings in its environment, as an operator
would run it, so the worker's resident memory can be read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from settings import Settings
from starter.devserver import DevServer

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def file_mb(*paths: Path) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / (1024 * 1024)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.popen.pid

    def check(self, log: Path) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {log}")

    async def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, 30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                await asyncio.to_thread(self.popen.wait)


@dataclass
class Stack:
    data_dir: Path
    temporal_address: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    web_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    task_queue: str = "reviewdesk-bench"
    server: DevServer | None = None
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def settings(self, **overrides: object) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=self.data_dir,
            temporal_address=self.temporal_address,
            temporal_ui_port=self.ui_port,
            task_queue=self.task_queue,
            web_port=self.web_port,
            public_base_url=self.base_url,
            **overrides,
        )

    def env(self, **settings: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWDESK_")}
        env["PYTHONPATH"] = str(ROOT)
        values = {
            "data_dir": str(self.data_dir),
            "temporal_address": self.temporal_address,
            "task_queue": self.task_queue,
            "web_host": "127.0.0.1",
            "web_port": str(self.web_port),
            "public_base_url": self.base_url,
            **settings,
        }
        env.update({f"REVIEWDESK_{k.upper()}": v for k, v in values.items()})
        return env

    async def start_server(self) -> None:
        self.server = DevServer(self.settings())
        await self.server.start()

    def log(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> Process:
        with self.log(name).open("ab") as log:
            popen = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        process = Process(name, popen)
        self.processes[name] = process
        return process

    async def start_worker(self, **settings: str) -> Process:
        """``python worker.py``, exactly as an operator runs it."""
        process = self._spawn("worker", [sys.executable, "worker.py"], self.env(**settings))
        await self._wait_log(process, "worker polling task queue")
        return process

    async def start_bare_worker(self, **settings: str) -> Process:
        process = self._spawn(
            "bare_worker",
            [sys.executable, "-m", "bench.bare_worker"],
            self.env(task_queue=self.task_queue + "-bare", **settings),
        )
        # The bare worker prints nothing; its first poll is as quick as the real one's.
        await asyncio.sleep(1.5)
        process.check(self.log("bare_worker"))
        return process

    async def start_web(self, **settings: str) -> Process:
        """``reviewdesk web``: the web app alone, against the same Temporal and store."""
        process = self._spawn(
            "web",
            [sys.executable, "-c", "from starter.cli import app; app()", "web"],
            self.env(**settings),
        )
        for _ in range(600):
            process.check(self.log("web"))
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.web_port)
                writer.close()
                await writer.wait_closed()
                return process
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the web app did not start; see {self.log('web')}")

    async def _wait_log(self, process: Process, text: str, timeout: float = 60) -> None:
        log = self.log(process.name)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout
        while text not in log.read_text(errors="replace"):
            process.check(log)
            if loop.time() > give_up:
                raise RuntimeError(f"{process.name} did not start; see {log}")
            await asyncio.sleep(0.1)

    async def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            await process.stop()

    async def close(self) -> None:
        for name in list(self.processes):
            await self.stop(name)
        if self.server is not None:
            await self.server.stop()
