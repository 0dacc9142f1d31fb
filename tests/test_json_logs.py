"""Log lines, text or JSON, never carry an address, a key or a reply link's token."""

from __future__ import annotations

import io
import json
import logging
import secrets

import pytest

from delivery.links import Links, Purpose
from settings import Settings
from starter.logs import handler

ADDRESS = "robin.reviewer@private.example"


def _log_everything(log_format: str, settings: Settings) -> tuple[str, list[str]]:
    """Logs what a careless line might hold; returns what was written and the secrets in it."""
    token = Links.of(settings).token(Purpose.REPLY, "ct_0123456789abcdef")
    key = f"rd_biz_{secrets.token_urlsafe(16)}"
    stream = io.StringIO()
    log = logging.getLogger(f"reviewdesk.test.{secrets.token_hex(4)}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler(log_format, stream))
    log.info("mail to %s: https://x.test/reply/%s", ADDRESS, token)
    log.warning("key %s refused for %s", key, ADDRESS, extra={"detail": {"to": ADDRESS}})
    password = f"pw-{secrets.token_hex(3)}"
    log.error("store postgresql://reviewdesk:%s@db.internal:5432/rd unreachable", password)
    try:
        raise ValueError(f"no mailbox {ADDRESS} for token {token}")
    except ValueError:
        log.exception("sending failed")
    return stream.getvalue(), [ADDRESS, token, key, password]


def test_json_log_lines_are_json_objects_without_addresses_keys_or_tokens(
    settings: Settings,
) -> None:
    written, hidden = _log_everything("json", settings)
    lines = [json.loads(line) for line in written.splitlines()]
    assert [line["level"] for line in lines] == ["INFO", "WARNING", "ERROR", "ERROR"]
    assert lines[0]["message"] == "mail to <email>: https://x.test/reply/<token>"
    assert lines[1]["message"] == "key rd_<key> refused for <email>"
    assert lines[1]["detail"] == {"to": "<email>"}
    assert lines[2]["message"] == (
        "store postgresql://reviewdesk:<password>@db.internal:5432/rd unreachable"
    )
    assert "ValueError: no mailbox <email> for token <secret>" in lines[3]["exc_info"]
    assert all("timestamp" in line and line["logger"].startswith("reviewdesk.") for line in lines)
    for secret in hidden:
        assert secret not in written


def test_text_log_lines_hide_addresses_keys_and_tokens_too(settings: Settings) -> None:
    written, hidden = _log_everything("text", settings)
    assert "mail to <email>: https://x.test/reply/<token>" in written
    assert "ValueError: no mailbox <email>" in written
    for secret in hidden:
        assert secret not in written


@pytest.mark.parametrize(
    "kept",
    [
        "contact ct_0123456789abcdef0123 opened",  # ids stay: they are how a line is followed
        "workflow contact-rv_organic_1a2b3c4d on task queue reviewdesk",
        "test_up_starts_dev_server_worker_and_demo_data_and_stops_on_ctrl_c failed",
    ],
)
def test_ids_and_names_are_left_as_they_are(kept: str) -> None:
    stream = io.StringIO()
    log = logging.getLogger(f"reviewdesk.test.{secrets.token_hex(4)}")
    log.propagate = False
    log.addHandler(handler("text", stream))
    log.warning(kept)
    assert stream.getvalue().rstrip().endswith(kept)
