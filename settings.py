"""Every knob of Reviewdesk, read from the environment (prefix ``REVIEWDESK_``) or a ``.env`` file.

Durations accept ISO 8601 (``P5D``, ``PT3S``) or a number of seconds (``432000``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

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
    # A bad value's error never repeats the value: a database URL carries its password.
    model_config = SettingsConfigDict(
        env_prefix="REVIEWDESK_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # Where the store, the dev server's SQLite file, written mail and demo credentials live.
    data_dir: Path = Path("data")

    # The store: `sqlite:///<path>` (a file; by default reviewdesk.db in the data folder) or
    # `postgresql://user:password@host:port/database` for many machines (README, "Beyond one
    # machine"). Migrations run in place when a process starts.
    database_url: str | None = Field(default=None, repr=False)

    # Temporal: the embedded dev server by default; point these at a real cluster to move off it.
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = DEFAULT_TASK_QUEUE
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    # TLS with a client certificate (a self-hosted cluster's mTLS, Temporal Cloud's certificate
    # authentication): PEM files, read when a process connects. Any of them turns TLS on; the
    # CA is needed only when the server's certificate is not signed by a public one.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    # Port of the Temporal Web UI that `reviewdesk up` starts beside the dev server; 0: no UI.
    temporal_ui_port: int = Field(default=8233, ge=0)

    # The rules of the feature (DESIGN rules 4, 5 and 7).
    reply_window: Duration = Field(default=timedelta(days=5), gt=timedelta(0))
    report_window: Duration = Field(default=timedelta(days=14), gt=timedelta(0))
    moderation_sla: Duration = Field(default=timedelta(days=2), gt=timedelta(0))
    # Report handling (DESIGN rules 8 to 11). Harmful or illegal content is decided first.
    harmful_sla: Duration = Field(default=timedelta(hours=24), gt=timedelta(0))
    # The reviewer-first step of a flag, then how long the business has to escalate or drop it
    # before the flag lapses as dropped.
    reviewer_step_window: Duration = Field(default=timedelta(days=3), gt=timedelta(0))
    flag_business_window: Duration = Field(default=timedelta(days=14), gt=timedelta(0))
    appeal_window: Duration = Field(default=timedelta(days=182), gt=timedelta(0))
    appeal_sla: Duration = Field(default=timedelta(days=5), gt=timedelta(0))
    # The misuse guard (DESIGN rules 1 and 12). Caps count a business's new contacts and flags
    # over the last 24 hours; a review's author may be contacted again `contact_cooldown` after
    # the last contact closed.
    contact_cooldown: Duration = Field(default=timedelta(days=30), ge=timedelta(0))
    daily_contact_cap: int = Field(default=100, gt=0)
    daily_flag_cap: int = Field(default=20, gt=0)
    # Findings, over `misuse_window` and since the subject's last step: at least
    # `misuse_min_decided_flags` decided flags with `misuse_rejected_share` or more rejected; or
    # at least `misuse_min_flags` flags with `misuse_negative_share` or more on 1-2 star reviews;
    # a notifier's at least `notifier_min_decided` decided notices with
    # `notifier_unfounded_share` or more rejected.
    misuse_window: Duration = Field(default=timedelta(days=90), gt=timedelta(0))
    misuse_min_decided_flags: int = Field(default=10, gt=0)
    misuse_rejected_share: float = Field(default=0.5, gt=0, le=1)
    misuse_min_flags: int = Field(default=20, gt=0)
    misuse_negative_share: float = Field(default=0.9, gt=0, le=1)
    notifier_min_decided: int = Field(default=5, gt=0)
    notifier_unfounded_share: float = Field(default=0.8, gt=0, le=1)
    # How long each step of the ladder lasts, and how long an ended step still counts towards
    # the next one (a lifted step never does).
    warning_period: Duration = Field(default=timedelta(days=90), gt=timedelta(0))
    restriction_period: Duration = Field(default=timedelta(days=30), gt=timedelta(0))
    consumer_warning_period: Duration = Field(default=timedelta(days=90), gt=timedelta(0))
    suspension_period: Duration = Field(default=timedelta(days=30), gt=timedelta(0))
    ladder_memory: Duration = Field(default=timedelta(days=365), gt=timedelta(0))
    # Request limits, in the `limits` library's notation ("600/minute", "10 per second"): every
    # API key, and the anonymous notice form per client address.
    api_rate_limit: str = "600/minute"
    notice_rate_limit: str = "20/minute"
    # The platform posts every new review (DESIGN rule 14): a feed, not a person, so its own
    # and higher limit.
    platform_rate_limit: str = "12000/minute"

    # What people wrote (answers, a business's message, the bodies and addresses of sent
    # emails) is purged this long after its case ended, keeping events and decisions (DESIGN,
    # "Security and privacy"). 190 days: a decision may be appealed for six months, an appeal
    # has its own SLA, and a few days' margin. The worker checks every `retention_check_every`.
    retention: Duration = Field(default=timedelta(days=190), gt=timedelta(0))
    retention_check_every: Duration = Field(default=timedelta(hours=1), gt=timedelta(0))
    # How often the worker compares the store with Temporal (a terminated or lost workflow
    # leaves a contact or report waiting for ever) and logs how many records disagree; repair
    # them with `reviewdesk reconcile --apply`. 0 turns the check off.
    drift_check_every: Duration = Field(default=timedelta(minutes=15), ge=timedelta(0))

    # Links in emails are built from this, never from the incoming request's Host header.
    public_base_url: str = "http://localhost:8000"
    # The web app (`reviewdesk web`, and `up`): where it listens.
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # The worker's own small HTTP port, on `web_host`: /metrics (Prometheus), /healthz and
    # /readyz (starter/health.py). Give each worker on one machine its own; 0 turns it off.
    worker_http_port: int = Field(default=9000, ge=0, lt=65536)
    # `json`: one JSON object per log line, for a log collector; either way addresses and
    # tokens are redacted (starter/logs.py).
    log_format: Literal["text", "json"] = "text"
    # Signs session cookies. Unset: a random one is kept in the data folder (session.key).
    session_secret: SecretStr | None = None
    # The service's own key, never in the store: it derives the one-time links in emails
    # (delivery/links.py; the store keeps only their hashes) and seals what the store must keep
    # secret (delivery/sealing.py). Unset: a random one is kept in the data folder (secret.key),
    # which suits one machine; in production give it from a secret manager, so that a copy of
    # the data folder or a backup cannot make working links. Changing it voids the links of
    # emails not yet sent.
    secret_key: SecretStr | None = Field(default=None, min_length=32)
    mail_from: str = "Reviewdesk <no-reply@reviewdesk.localhost>"
    # Where escalations of overdue reports are sent.
    moderation_email: str = "moderation@reviewdesk.localhost"

    # How long one delivery attempt may take, and how long a message is retried before it is
    # marked failed; a crashed worker's attempt is retried after the first.
    delivery_attempt_timeout: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))
    delivery_give_up_after: Duration = Field(default=timedelta(days=2), gt=timedelta(0))
    # The first attempt, made inside the step that records a message, is cut short after this:
    # a mail server or endpoint that accepts and then stalls holds the step (a contact request's
    # 201) no longer. The message's delivery workflow then retries it with the full timeout.
    delivery_first_attempt_timeout: Duration = Field(default=timedelta(seconds=3), gt=timedelta(0))

    # How long the web app and the CLI wait for Temporal on one call before answering 503
    # ("try again"): with the worker down an update would otherwise wait for ever.
    temporal_call_timeout: Duration = Field(default=timedelta(seconds=5), gt=timedelta(0))

    # How long a stopping worker waits for its work in hand before it exits anyway. Temporal's
    # core can wait for ever on a local activity that never finishes (a store step retrying
    # while the store is down; sdk-rust #709); what was cut off runs again on the next worker.
    worker_shutdown_timeout: Duration = Field(default=timedelta(seconds=30), gt=timedelta(0))

    # OpenTelemetry tracing (starter/tracing.py), off unless set: the base URL of an OTLP/HTTP
    # collector (`http://collector:4318`; spans go to its /v1/traces). Headers such as an API key
    # come from the standard OTEL_EXPORTER_OTLP_HEADERS.
    otlp_endpoint: str | None = None

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
    # After a rotation the old secret still signs beside the new one this long, so a receiver
    # can switch without missing an event.
    webhook_secret_overlap: Duration = Field(default=timedelta(hours=24), ge=timedelta(0))
    # Webhook URLs may name loopback and private addresses, and use plain http to them: for
    # local use and tests only. Off, only https to public addresses is ever requested.
    webhook_allow_private: bool = False

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
        if self.delivery_first_attempt_timeout >= self.delivery_attempt_timeout:
            raise ValueError(
                "delivery_first_attempt_timeout must be shorter than delivery_attempt_timeout"
            )
        return self

    @model_validator(mode="after")
    def _retention_outlasts_an_appeal(self) -> Settings:
        # What people wrote must still be there when a decision is appealed and the appeal
        # decided: a notifier purged before their appeal could never be told its outcome.
        if self.retention <= self.appeal_window + self.appeal_sla:
            raise ValueError("retention must be longer than appeal_window + appeal_sla")
        return self

    @field_validator("api_rate_limit", "notice_rate_limit", "platform_rate_limit")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError('a limit reads like "600/minute" or "20 per minute"') from None
        return value

    @model_validator(mode="after")
    def _client_certificate_with_its_key(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("temporal_tls_cert and temporal_tls_key go together")
        return self

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("sqlite:///", "postgresql://", "postgres://")
        ):
            raise ValueError("database_url must start with sqlite:/// or postgresql://")
        return value

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'reviewdesk.db'}"

    @property
    def store_label(self) -> str:
        """Where the store is, for a person to read: never the password in the URL."""
        if not self.store_url.startswith(("postgresql://", "postgres://")):
            return f"SQLite {self.store_path}"
        parts = urlsplit(self.store_url)
        return f"PostgreSQL {parts.hostname}:{parts.port or 5432}{parts.path}"

    @property
    def store_path(self) -> Path:
        """The SQLite file (when the store is on SQLite)."""
        if self.database_url and self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
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


def kept_secret(given: SecretStr | None, path: Path) -> str:
    """The secret given in the settings, or else one made on first use and kept at ``path``
    (its owner's to read only), the same for every process on this data folder."""
    if given is not None:
        return given.get_secret_value()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own (mkstemp makes it 0600), then linked into place:
        # of two processes starting at once, the first one's stands and both read it.
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(partial, path)
        finally:
            os.unlink(partial)
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
