"""A help desk's webhook endpoint on loopback, and the Standard Webhooks check a receiver makes.

The receiver is a plain HTTP/1.1 server (optionally over TLS) that records every connection and
every request, and answers as a test tells it: 200, 500 for the first tries of each event, or a
redirect somewhere else on itself (which must never be requested).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from delivery.egress import Resolver
from settings import Settings


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


def verifies(secret: str, delivery: Delivery) -> bool:
    """What a receiver does, with the specification's own library: id, timestamp (within five
    minutes) and one of the signatures match the body exactly as received."""
    try:
        Webhook(secret).verify(delivery.body, delivery.headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Receiver:
    fail_first: int = 0
    """Answers 500 to this many requests of each event, then 200."""
    redirect_to: str | None = None
    """Answers 302 with this path on this same server as Location."""
    tls: ssl.SSLContext | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/reviewdesk"

    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if 200 <= d.status < 300]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            request_line = (await reader.readline()).decode()
            if not request_line:
                return
            path = request_line.split(" ")[1]
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            eid = headers.get("webhook-id")
            seen = sum(1 for d in self.deliveries if d.headers.get("webhook-id") == eid)
            extra = ""
            if self.redirect_to is not None:
                status = 302
                extra = f"Location: http://127.0.0.1:{self.port}{self.redirect_to}\r\n"
            else:
                status = 500 if seen < self.fail_first else 200
            self.deliveries.append(Delivery(path, headers, body, status))
            head = f"HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(head.encode())
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def fake_resolver(names: dict[str, str]) -> Resolver:
    """A DNS of the test's own: each name to one address, no lookup leaves the machine."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise OSError(f"{host} does not resolve")
        return [names[host]]

    return resolve


def certificate_for(name: str, folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for ``name``, self-signed: the server's TLS context, and a client context
    that trusts it and checks the name."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


# The fixtures of a module whose webhooks go to a receiver here: it imports ``settings`` (which
# overrides conftest's for that module) and ``receiver`` from this module.


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver is on loopback: the module's service and worker may send there."""
    return settings.model_copy(update={"webhook_allow_private": True})


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()
