"""Settings read from the environment; durations in ISO 8601 or seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from settings import Settings


def test_defaults_follow_the_design() -> None:
    s = Settings(_env_file=None)
    assert s.reply_window == timedelta(days=5)
    assert s.report_window == timedelta(days=14)
    assert s.moderation_sla == timedelta(days=2)
    assert s.task_queue == "reviewdesk"


def test_durations_accept_iso_8601_and_seconds_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVIEWDESK_REPLY_WINDOW", "PT3S")
    monkeypatch.setenv("REVIEWDESK_REPORT_WINDOW", "86400")
    monkeypatch.setenv("REVIEWDESK_MODERATION_SLA", "P2DT12H")
    monkeypatch.setenv("REVIEWDESK_PUBLIC_BASE_URL", "https://reviews.example.com/")
    s = Settings(_env_file=None)
    assert s.reply_window == timedelta(seconds=3)
    assert s.report_window == timedelta(days=1)
    assert s.moderation_sla == timedelta(days=2, hours=12)
    assert s.public_base_url == "https://reviews.example.com"


@pytest.mark.parametrize("value", ["soon", "0", "-5", "P"])
def test_a_bad_or_empty_window_is_refused_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("REVIEWDESK_REPLY_WINDOW", value)
    with pytest.raises(ValidationError, match="reply_window"):
        Settings(_env_file=None)


def test_the_api_key_is_a_secret_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEWDESK_TEMPORAL_API_KEY", "very-secret-key")
    s = Settings(_env_file=None)
    assert "very-secret-key" not in repr(s) and "very-secret-key" not in str(s.model_dump())
