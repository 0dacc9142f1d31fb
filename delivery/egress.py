"""Where Reviewdesk may send a request a business asked for: public addresses, over https.

A webhook URL is the business's, and the worker sits inside our network: without this, a URL
naming 127.0.0.1, 10.x or the cloud's metadata address (169.254.169.254) would make the worker
a port scanner of that network. So a URL's host is resolved, and every address it resolves to
must be public, when it is registered and again for the connection itself: the request goes to
the address that was checked, never to a second lookup of the name (a name that answers with a
public address first and with loopback next, DNS rebinding, gets nowhere).
``allow_private`` opens loopback and private ranges, and plain http to them, for local use and
tests; link-local, multicast and reserved addresses stay closed even then.

A name that does not resolve, whose lookup takes longer than ``RESOLVE_TIMEOUT``, or that resolves
to an address not allowed, is refused with one and the same message: distinct ones would let a
business probe which names exist inside our network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Host name and port to the addresses they resolve to; tests pass a fake (no real DNS).
Resolver = Callable[[str, int], Awaitable[list[str]]]
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A resolver that never answers must not hold a registration (or an attempt) for ever.
RESOLVE_TIMEOUT = timedelta(seconds=5)
NOT_PUBLIC = "The URL must be https to a public address that resolves."
ONLY_HTTPS = "Only https:// URLs are allowed."
# NAT64 prefixes (RFC 6052, RFC 8215): the translator reaches whatever IPv4 address is inside.
# Python 3.13 counts the second as private and 3.11 as global; neither is ours to decide.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class NotAllowed(Exception):
    """The URL may not be requested; the message says why, in words a business can act on."""


class Unresolved(NotAllowed):
    """The host name has no address now, or its lookup took too long: maybe for good, maybe for
    a moment. Its message is ``NOT_PUBLIC``, as for a name that resolves inside."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv6 link-local address carries its interface ("fe80::1%eth0"): the address is enough.
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def is_public(ip: IPAddress) -> bool:
    """An address on the internet: not ours, not our neighbours', not special."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address dressed as IPv6 goes where its IPv4 address goes.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if ip.teredo is not None or any(ip in net for net in _NAT64):
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def is_local(ip: IPAddress) -> bool:
    """Loopback or a private range: what ``allow_private`` opens, and nothing more special."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_local(ip.ipv4_mapped)
        # A tunnel or a translator to IPv4 is no neighbour, whatever it carries: Python 3.13
        # counts 6to4 as private, 3.11 does not.
        if ip.sixtofour is not None or ip.teredo is not None or any(ip in n for n in _NAT64):
            return False
    if ip.is_loopback:
        return True
    return ip.is_private and not (
        ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A URL pinned to the address that was checked: request ``url``, which names the address,
    with ``host_header`` as Host and ``server_name`` for TLS (SNI and the certificate check)."""

    url: httpx.URL
    host_header: str
    server_name: str


class Egress:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        resolve_timeout: timedelta = RESOLVE_TIMEOUT,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or system_resolver
        self.resolve_timeout = resolve_timeout

    async def check(self, url: str) -> None:
        """Raises ``NotAllowed`` unless ``url`` may be registered now."""
        await self.pin(url)

    async def pin(self, url: str) -> Target:
        """Resolves the URL's host once and checks every address it has; raises ``NotAllowed``."""
        try:
            parsed = httpx.URL(url)
            port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
        except (httpx.InvalidURL, ValueError):
            raise NotAllowed("The URL is not valid.") from None
        if parsed.scheme not in _DEFAULT_PORTS or not parsed.raw_host:
            raise NotAllowed(ONLY_HTTPS)
        if parsed.scheme == "http" and not self.allow_private:
            # Refused before any lookup: its answer would tell nothing the business may know.
            raise NotAllowed(ONLY_HTTPS)
        if parsed.userinfo:
            raise NotAllowed("The URL must not contain a user name or password.")
        host = parsed.raw_host.decode("ascii")
        addresses = await self._resolve(host, port)
        allowed = is_local if self.allow_private else is_public
        if not all(allowed(ip) or is_public(ip) for ip in addresses):
            raise NotAllowed(NOT_PUBLIC)
        if parsed.scheme == "http" and not all(is_local(ip) for ip in addresses):
            raise NotAllowed(ONLY_HTTPS)
        return Target(
            url=parsed.copy_with(host=str(addresses[0])),
            host_header=parsed.netloc.decode("ascii"),
            server_name=host,
        )

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            # The system's lookup runs in a thread, which goes on until its own timeouts: only
            # the wait for it ends here.
            async with asyncio.timeout(self.resolve_timeout.total_seconds()):
                found = await self.resolver(host, port)
        except (OSError, TimeoutError):
            found = []
        try:
            addresses = [ipaddress.ip_address(a) for a in found]
        except ValueError:
            addresses = []
        if not addresses:
            raise Unresolved(NOT_PUBLIC)
        return addresses
