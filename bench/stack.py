"""The embedded default, started for a run: dev server, worker and web app as processes.

Each runs as its own process with ``REVIEWDESK_*`` settings in its environment, as an operator
would run it, so the worker's resident memory can be read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import pgcluster
from settings import Settings
from starter.devserver import DevServer

ROOT = Path(__file__).resolve().parent.parent


# The benchmark sends as fast as the stack answers, from a few businesses, keys and one address,
# and contacts and flags far more than a business may in a day: the misuse guard (DESIGN rules
# 1 and 12: caps, findings, request limits) would refuse most of it, and is not what it measures.
GUARD_OFF = {
    "api_rate_limit": "1000000000/minute",
    "notice_rate_limit": "1000000000/minute",
    "daily_contact_cap": "1000000000",
    "daily_flag_cap": "1000000000",
    "contact_cooldown": "0",
    "misuse_min_decided_flags": "1000000000",
    "misuse_min_flags": "1000000000",
    "notifier_min_decided": "1000000000",
}


class Ports:
    """Loopback ports picked up front, each held until the process that listens on it starts.

    The dev server takes its HTTP API and metrics ports at random as it starts. A port picked
    for the web app and let go at once may be the one it takes; the web app then cannot listen,
    and its requests reach Temporal's HTTP API instead (seen once: 404 `{"code":5}`).
    """

    def __init__(self) -> None:
        self._held: dict[int, socket.socket] = {}

    def pick(self) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        self._held[port] = sock
        return port

    def release(self, port: int) -> None:
        sock = self._held.pop(port, None)
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for port in list(self._held):
            self.release(port)


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process, its living children and those it has waited for: a PostgreSQL
    server does its work in a process per connection, forked from the first."""
    ended = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    total = cpu_seconds(pid) + (int(ended[13]) + int(ended[14])) / os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue  # ended while being read
    return total


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
    ports: Ports = field(default_factory=Ports)
    temporal_address: str = ""
    web_port: int = 0
    ui_port: int = 0
    worker_http_port: int = 0
    task_queue: str = "reviewdesk-bench"
    # The store: the SQLite file in the data folder unless this names a PostgreSQL database.
    database_url: str | None = None
    # Its server's first process, when the run started one: its CPU time counts as the stack's.
    postgres_pid: int | None = None
    server: DevServer | None = None
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.temporal_address = self.temporal_address or f"127.0.0.1:{self.ports.pick()}"
        self.web_port = self.web_port or self.ports.pick()
        self.ui_port = self.ui_port or self.ports.pick()
        # The worker serves its metrics and health checks, as by default, on a port of its own.
        self.worker_http_port = self.worker_http_port or self.ports.pick()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def settings(self) -> Settings:
        # The drivers' own service (the world, the bare engine's comparisons) guards as the stack.
        return Settings(
            _env_file=None,
            data_dir=self.data_dir,
            database_url=self.database_url,
            temporal_address=self.temporal_address,
            temporal_ui_port=self.ui_port,
            task_queue=self.task_queue,
            web_port=self.web_port,
            public_base_url=self.base_url,
            **GUARD_OFF,  # type: ignore[arg-type]
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
            "worker_http_port": str(self.worker_http_port),
            "public_base_url": self.base_url,
            **({"database_url": self.database_url} if self.database_url else {}),
            **GUARD_OFF,
            **settings,
        }
        env.update({f"REVIEWDESK_{k.upper()}": v for k, v in values.items()})
        return env

    async def start_server(self) -> None:
        self.ports.release(int(self.temporal_address.rpartition(":")[2]))
        self.ports.release(self.ui_port)
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
        self.ports.release(self.worker_http_port)
        process = self._spawn("worker", [sys.executable, "worker.py"], self.env(**settings))
        async with asyncio.timeout(60):
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
        self.ports.release(self.web_port)
        process = self._spawn(
            "web",
            [sys.executable, "-c", "from starter.cli import app; app()", "web"],
            self.env(**settings),
        )
        # Until the sign-in page answers: a listening port alone could be another process's.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
            for _ in range(600):
                process.check(self.log("web"))
                try:
                    if (await http.get("/login")).status_code == 200:
                        return process
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the web app did not start; see {self.log('web')}")

    async def _wait_log(self, process: Process, text: str) -> None:
        log = self.log(process.name)
        while text not in log.read_text(errors="replace"):
            process.check(log)
            await asyncio.sleep(0.1)

    def pids(self) -> dict[str, int]:
        """The running processes of the stack, the dev server and this one included."""
        found = {name: p.pid for name, p in self.processes.items() if p.popen.poll() is None}
        if self.server is not None and self.server.process is not None:
            found["server"] = self.server.process.pid
        if self.postgres_pid is not None:
            found["postgres"] = self.postgres_pid
        found["driver"] = os.getpid()
        return found

    async def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            await process.stop()

    async def close(self) -> None:
        for name in list(self.processes):
            await self.stop(name)
        if self.server is not None:
            await self.server.stop()
        self.ports.close()


class CpuMeter:
    """CPU time each process of the stack spends between ``__init__`` and ``read``."""

    def __init__(self, stack: Stack) -> None:
        self._pids = stack.pids()
        self._start = {name: self._cpu(name, pid) for name, pid in self._pids.items()}
        self._began = time.perf_counter()

    @staticmethod
    def _cpu(name: str, pid: int) -> float:
        return tree_cpu_seconds(pid) if name == "postgres" else cpu_seconds(pid)

    def read(self) -> dict[str, float]:
        """Seconds of CPU by process, and ``wall``: the seconds that passed meanwhile."""
        used = {
            name: round(self._cpu(name, pid) - self._start[name], 2)
            for name, pid in self._pids.items()
            if Path(f"/proc/{pid}").exists()
        }
        used["wall"] = round(time.perf_counter() - self._began, 2)
        return used


class Profiler:
    """py-spy sampling the Python processes (worker, web app) while they hold the GIL, when asked.

    Writes ``<prefix><name>.txt`` (collapsed stacks: speedscope.app or flamegraph.pl draw them) and
    ``<prefix><name>-top.txt``, the functions that took the most of that time.
    """

    def __init__(
        self, stack: Stack, out: Path | None, names: tuple[str, ...], prefix: str = ""
    ) -> None:
        self._spies: dict[Path, subprocess.Popen[bytes]] = {}
        if out is None:
            return
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            raise RuntimeError("--profile needs py-spy: pip install -e '.[dev]'")
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = out / f"{prefix}{name}.txt"
            command = [spy, "record", "-p", str(stack.pids()[name]), "-f", "raw", "-o", str(path)]
            self._spies[path] = subprocess.Popen(
                [*command, "--rate", "50", "--nonblocking", "--gil"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    async def stop(self) -> None:
        for spy in self._spies.values():
            spy.send_signal(signal.SIGINT)
        for path, spy in self._spies.items():
            await asyncio.to_thread(spy.wait, 60)
            if path.exists():
                path.with_name(path.stem + "-top.txt").write_text(top_functions(path))


def top_functions(collapsed: Path, count: int = 40) -> str:
    """The functions on the most sampled stacks (inclusive) and at their tops (self)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        n = int(samples)
        total += n
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(count)]
    lines += ["", "self:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(count // 2)]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@asynccontextmanager
async def bench_stack(data_dir: Path | None, store: str) -> AsyncIterator[Stack]:
    """A benchmark's stack, stopped after: its data in ``data_dir`` (a temporary folder, removed
    after, when none is given), its store on a throwaway PostgreSQL cluster when ``store`` is
    "postgres"."""
    temporary = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="reviewdesk-bench-")) if data_dir is None else data_dir
    folder.mkdir(parents=True, exist_ok=True)
    cluster: pgcluster.PgCluster | None = None
    stack = Stack(folder)
    try:
        if store == "postgres":
            log("starting a throwaway PostgreSQL cluster for the store")
            cluster = await asyncio.to_thread(pgcluster.start_cluster, durable=True)
            database_url = await asyncio.to_thread(cluster.create_database, "reviewdesk")
            stack = Stack(folder, database_url=database_url, postgres_pid=cluster.pid)
        yield stack
    finally:
        await stack.close()
        if cluster is not None:
            await asyncio.to_thread(cluster.stop)
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
