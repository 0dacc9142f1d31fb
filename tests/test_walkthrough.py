"""The README's walk-through, run as printed against `reviewdesk up`, twice, with the reset the
README gives between the runs (issue 15, point 10)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import ROOT, env_for, free_port

HEADING = "## A contact from request to decision, with the CLI"


def walkthrough() -> str:
    """The first bash block under the walk-through's heading, exactly as the README shows it."""
    section = (ROOT / "README.md").read_text().split(HEADING, 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


@contextmanager
def running_up(folder: Path, env: dict[str, str]) -> Iterator[None]:
    up = subprocess.Popen(
        [".venv/bin/reviewdesk", "up"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        printed: list[str] = []
        give_up = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in "".join(printed):
            line = up.stdout.readline()
            assert line or up.poll() is None, "".join(printed)
            printed.append(line)
            assert time.monotonic() < give_up, "".join(printed)
        yield
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C, as the README says
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest


def run(script: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_walkthrough_runs_as_printed_and_again_after_the_reset(tmp_path: Path) -> None:
    # The walk-through runs from the folder `up` runs in, with the venv beside it.
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    port = free_port()
    env = env_for(
        tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port="0",
        web_port=str(port),
        public_base_url=f"http://127.0.0.1:{port}",
    )
    script = walkthrough()

    with running_up(tmp_path, env):
        first = run(script, tmp_path, env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "status rejected" in first.stdout and "(visible)" in first.stdout
        # Once its review is reported it cannot be contacted again: hence the reset.
        again = run(script, tmp_path, env)
        assert again.returncode != 0 and "refused: already_reported" in again.stderr

    shutil.rmtree(tmp_path / "data")  # the README's reset: stop `up`, delete data/, start again
    with running_up(tmp_path, env):
        second = run(script, tmp_path, env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "status rejected" in second.stdout and "(visible)" in second.stdout


def test_the_readme_walkthrough_runs_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    # Issue 16, acceptance 1: the same journey with the store on PostgreSQL, `up` seeding it.
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    port = free_port()
    env = env_for(
        tmp_path / "data",
        database_url=pg_url,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port="0",
        web_port=str(port),
        public_base_url=f"http://127.0.0.1:{port}",
    )
    with running_up(tmp_path, env):
        done = run(walkthrough(), tmp_path, env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "status rejected" in done.stdout and "(visible)" in done.stdout
    # Nothing of the store went to the data folder: it is all in the database.
    assert not (tmp_path / "data" / "reviewdesk.db").exists()
