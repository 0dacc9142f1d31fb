"""Every knob of Reviewdesk, read from the environment (prefix ``REVIEWDESK_``) or a ``.env`` file.

Durations accept ISO 8601 (``P5D``, ``PT3S``) or a number of seconds (``432000``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain import DEFAULT_TASK_QUEUE


def _seconds_or_iso(value: Any) -> Any:
    """Environment values are strings; a bare number there means seconds, as it does in code."""
    if isinstance(value, str):
        try:
            return timedelta(seconds=float(value))
        except ValueError:
            return value
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REVIEWDESK_", env_file=".env", extra="ignore")

    # Where the store, the dev server's SQLite file, written mail and demo credentials live.
    data_dir: Path = Path("data")

    # Temporal: the embedded dev server by default; point these at a real cluster to move off it.
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = DEFAULT_TASK_QUEUE
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    # Port of the Temporal Web UI that `reviewdesk up` starts beside the dev server; 0: no UI.
    temporal_ui_port: int = Field(default=8233, ge=0)

    # The rules of the feature (DESIGN rules 4, 5 and 7).
    reply_window: Duration = Field(default=timedelta(days=5), gt=timedelta(0))
    report_window: Duration = Field(default=timedelta(days=14), gt=timedelta(0))
    moderation_sla: Duration = Field(default=timedelta(days=2), gt=timedelta(0))

    # Links in emails are built from this, never from the incoming request's Host header.
    public_base_url: str = "http://localhost:8000"
    # The web app (`reviewdesk web`, and `up`): where it listens.
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # Signs session cookies. Unset: a random one is kept in the data folder (session.key).
    session_secret: SecretStr | None = None
    mail_from: str = "Reviewdesk <no-reply@reviewdesk.localhost>"
    # Where escalations of overdue reports are sent.
    moderation_email: str = "moderation@reviewdesk.localhost"

    # How long one delivery attempt may take, and how long a message is retried before it is
    # marked failed; a crashed worker's attempt is retried after the first.
    delivery_attempt_timeout: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    delivery_give_up_after: Duration = Field(default=timedelta(days=2), gt=timedelta(0))

    # How long a store write waits for another process's write to finish before it fails; a
    # workflow step that fails so is retried with backoff (a locked store heals, nothing is lost).
    store_busy_timeout: Duration = Field(default=timedelta(seconds=10), ge=timedelta(0))

    # Email goes out over SMTP when a host is set; without one it is written as .eml files to
    # the data folder. `starttls` upgrades a plain connection (port 587), `tls` starts encrypted
    # (port 465), `none` is for a relay on the same machine or network only.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: Duration = Field(default=timedelta(seconds=20), gt=timedelta(0))

    # Webhooks: one POST may take this long; a failing endpoint is retried with backoff this long
    # (at least a day, so a receiver that is down overnight still gets every event) before the
    # event is marked failed.
    webhook_timeout: Duration = Field(default=timedelta(seconds=10), gt=timedelta(0))
    webhook_give_up_after: Duration = Field(default=timedelta(hours=25), gt=timedelta(0))

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _transport_timeouts_fit_in_an_attempt(self) -> Settings:
        # A transport that outlives its attempt is retried while it may still succeed: a duplicate.
        for name in ("smtp_timeout", "webhook_timeout"):
            if getattr(self, name) >= self.delivery_attempt_timeout:
                raise ValueError(f"{name} must be shorter than delivery_attempt_timeout")
        return self

    @property
    def store_path(self) -> Path:
        return self.data_dir / "reviewdesk.db"

    @property
    def temporal_db_path(self) -> Path:
        return self.data_dir / "temporal.db"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def demo_file(self) -> Path:
        return self.data_dir / "demo.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
