"""Settings read from the environment; durations in ISO 8601 or seconds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.service import TLSConfig

from settings import Settings
from starter.client import tls_config


def test_defaults_follow_the_design() -> None:
    s = Settings(_env_file=None)
    assert s.reply_window == timedelta(days=5)
    assert s.report_window == timedelta(days=14)
    assert s.moderation_sla == timedelta(days=2)
    assert s.task_queue == "reviewdesk"
    assert (s.harmful_sla, s.reviewer_step_window) == (timedelta(hours=24), timedelta(days=3))
    assert (s.appeal_window, s.appeal_sla) == (timedelta(days=182), timedelta(days=5))


def test_a_retention_shorter_than_an_appeal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A notifier's address purged before their appeal is decided: they would never hear of it.
    monkeypatch.setenv("REVIEWDESK_RETENTION", "P30D")
    with pytest.raises(ValidationError, match="retention must be longer than appeal_window"):
        Settings(_env_file=None)
    monkeypatch.setenv("REVIEWDESK_APPEAL_WINDOW", "P20D")
    assert Settings(_env_file=None).retention == timedelta(days=30)


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


def test_the_store_is_named_for_people_without_its_password(tmp_path: Path) -> None:
    on_pg = Settings(
        _env_file=None, database_url="postgresql://rd:s3cret-pw@db.internal:6432/reviewdesk"
    )
    assert on_pg.store_label == "PostgreSQL db.internal:6432/reviewdesk"
    on_file = Settings(_env_file=None, data_dir=tmp_path)
    assert on_file.store_label == f"SQLite {tmp_path / 'reviewdesk.db'}"
    assert on_file.store_url == f"sqlite:///{tmp_path / 'reviewdesk.db'}"
    assert "s3cret-pw" not in repr(on_pg)
    # A mistyped URL's error names the setting, never the password in it.
    with pytest.raises(ValidationError) as bad:
        Settings(_env_file=None, database_url="postgress://rd:s3cret-pw@db.internal/reviewdesk")
    assert "database_url" in str(bad.value) and "s3cret-pw" not in str(bad.value)
    elsewhere = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'other.db'}")
    assert elsewhere.store_path == tmp_path / "other.db"


def test_a_client_certificate_from_files_makes_the_tls_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {"cert": b"-----BEGIN CERTIFICATE-----\nclient\n", "key": b"-----BEGIN KEY-----\n"}
    files["ca"] = b"-----BEGIN CERTIFICATE-----\nour CA\n"
    for name, content in files.items():
        (tmp_path / f"{name}.pem").write_bytes(content)
        monkeypatch.setenv(f"REVIEWDESK_TEMPORAL_TLS_{name.upper()}", str(tmp_path / f"{name}.pem"))
    tls = tls_config(Settings(_env_file=None))
    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key) == (files["cert"], files["key"])
    assert tls.server_root_ca_cert == files["ca"]

    # A public CA needs no file; the certificate and its key still make TLS.
    monkeypatch.delenv("REVIEWDESK_TEMPORAL_TLS_CA")
    tls = tls_config(Settings(_env_file=None))
    assert isinstance(tls, TLSConfig) and tls.server_root_ca_cert is None
    assert tls.client_cert == files["cert"]


def test_plain_tls_or_none_without_certificate_files() -> None:
    assert tls_config(Settings(_env_file=None)) is False
    assert tls_config(Settings(_env_file=None, temporal_tls=True)) is True


def test_a_client_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="temporal_tls_cert and temporal_tls_key"):
        Settings(_env_file=None, temporal_tls_cert=tmp_path / "cert.pem")
