"""Running Reviewdesk's own commands as a user would: separate processes, settings from the env."""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# Ports picked below the kernel's ephemeral range, which starts at 32768 on Linux by default.
_PICK_FROM = 10_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A free loopback port, from below the kernel's ephemeral range.

    A port from ``bind(0)`` is one the kernel also hands out on its own, to an outgoing
    connection or to the dev server, which takes its HTTP port at random as it starts. Between
    the pick and the bind of the process that is to listen on it, either could take the port
    (the bench saw the dev server do so). Below that range only an explicit bind takes a port.
    """
    top = _ephemeral_start()
    if top - _PICK_FROM < 1000:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for _ in range(500):
        port = random.randrange(_PICK_FROM, top)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {_PICK_FROM} and {top}")


def env_for(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWDESK_")}
    env["REVIEWDESK_DATA_DIR"] = str(data_dir)
    env.update({f"REVIEWDESK_{k.upper()}": v for k, v in settings.items()})
    return env


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "reviewdesk"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"reviewdesk {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def cli_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(cli(env, *args, "--json").stdout)


def reply_token_from_mail(mail_dir: Path, contact_id: str, timeout: float = 30) -> str:
    """Opens the reviewer's .eml, as they would open their inbox, and takes the link's token."""
    give_up = time.monotonic() + timeout
    path = mail_dir / f"{contact_id}_contact.requested_reviewer.eml"
    while not path.exists():
        if time.monotonic() > give_up:
            raise AssertionError(f"no email at {path}")
        time.sleep(0.1)
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = mail.get_body(("plain",))
    assert body is not None
    # Decoded, as a mail client shows it: the raw file may wrap long lines (quoted-printable).
    match = re.search(r"/reply/([A-Za-z0-9_\-]+)", body.get_content())
    assert match
    return match.group(1)
