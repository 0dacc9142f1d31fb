"""Every knob of Reviewdesk, read from the environment (prefix ``REVIEWDESK_``) or a ``.env`` file.

Durations accept ISO 8601 (``P5D``, ``PT3S``) or a number of seconds (``432000``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, field_validator
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
    # Port of the Temporal Web UI that `reviewdesk up` starts beside the dev server.
    temporal_ui_port: int = 8233

    # The rules of the feature (DESIGN rules 4, 5 and 7).
    reply_window: Duration = Field(default=timedelta(days=5), gt=timedelta(0))
    report_window: Duration = Field(default=timedelta(days=14), gt=timedelta(0))
    moderation_sla: Duration = Field(default=timedelta(days=2), gt=timedelta(0))

    # Links in emails are built from this, never from the incoming request's Host header.
    public_base_url: str = "http://localhost:8000"
    mail_from: str = "Reviewdesk <no-reply@reviewdesk.localhost>"
    # Where escalations of overdue reports are sent.
    moderation_email: str = "moderation@reviewdesk.localhost"

    # How long one delivery attempt may take, and how long a message is retried before it is
    # marked failed; a crashed worker's attempt is retried after the first.
    delivery_attempt_timeout: Duration = timedelta(seconds=30)
    delivery_give_up_after: Duration = timedelta(days=2)

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

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
