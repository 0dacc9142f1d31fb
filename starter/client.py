"""Connecting to Temporal: the embedded dev server by default, any cluster through settings."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig

from settings import Settings
from starter import tracing


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=tls_config(settings),
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
        # Workers built from this client inherit the tracing interceptor too.
        interceptors=tracing.client_interceptors(),
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS as the settings ask: with the client certificate and CA files when any is given
    (which implies TLS), else plain TLS or none as ``temporal_tls`` says."""
    files = (settings.temporal_tls_cert, settings.temporal_tls_key, settings.temporal_tls_ca)
    if not any(files):
        return settings.temporal_tls
    cert, key, ca = (_read(path) for path in files)
    return TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key)


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None
