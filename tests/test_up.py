"""`reviewdesk up` brings the whole service up with demo data and stops cleanly (acceptance 10)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.processes import BIN, ROOT, cli_json, env_for, free_port, reply_token_from_mail


def test_up_starts_dev_server_worker_and_demo_data_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "data"
    web_port, worker_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    env = env_for(
        data,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_port=str(free_port()),
        web_port=str(web_port),
        worker_http_port=str(worker_port),
        public_base_url=base,
    )
    up = subprocess.Popen(
        [str(BIN / "reviewdesk"), "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        lines: list[str] = []
        give_up = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in "".join(lines):
            line = up.stdout.readline()
            assert line or up.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < give_up, "".join(lines)
        printed = "".join(lines)
        assert "Reviewdesk is up." in printed and str(data / "demo.json") in printed
        assert f"business dashboard: {base}/dashboard" in printed
        assert f"moderation queue:   {base}/moderation" in printed
        # Where Prometheus and probes go, and both answer there.
        worker = f"http://127.0.0.1:{worker_port}"
        assert f"web app metrics:    {base}/metrics" in printed
        assert f"worker metrics:     {worker}/metrics" in printed
        for where in (base, worker):
            assert httpx.get(f"{where}/metrics").status_code == 200
            assert httpx.get(f"{where}/readyz").json() == {"store": "ok", "temporal": "ok"}

        demo = json.loads((data / "demo.json").read_text())
        assert {r["source"] for r in demo["reviews"]} == {
            "organic",
            "external_invitation",
            "platform_invitation",
        }
        assert demo["api_keys"]["biz_harbour_bakery"].startswith("rd_biz_")
        assert (data / "temporal.db").exists()

        opened = cli_json(
            env,
            "contact",
            "rv_quickfix_organic_1",
            "--business",
            "biz_quickfix",
            "--message",
            "Which repair was this?",
        )
        assert opened["contact"]["status"] == "awaiting_reply"
        token = reply_token_from_mail(data / "mail", opened["contact"]["id"])
        # The web app is up too: the public page and the emailed reply link both answer.
        public = httpx.get(f"{base}/businesses/biz_harbour_bakery")
        assert public.status_code == 200 and "Harbour Bakery" in public.text
        assert httpx.get(f"{base}/reply/{token}").status_code == 200
        key = demo["api_keys"]["biz_quickfix"]
        assert f"sign-in key biz_quickfix: {key}" in printed
        mine = httpx.get(f"{base}/api/v1/contacts", headers={"Authorization": f"Bearer {key}"})
        assert [c["id"] for c in mine.json()] == [opened["contact"]["id"]]
    finally:
        up.send_signal(signal.SIGINT)
        rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, rest
    assert "Stopped." in rest
