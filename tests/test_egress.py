"""Which addresses a webhook may reach: the internet only, whatever an address dresses up as."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import timedelta

import pytest

from delivery.egress import Egress, NotAllowed, Unresolved, is_local, is_public
from tests.webhook_receiver import fake_resolver


@pytest.mark.parametrize(
    ("address", "public", "local"),
    [
        ("93.184.216.34", True, False),
        ("2606:4700::1", True, False),
        ("::ffff:93.184.216.34", True, False),  # a public IPv4 address, written as IPv6
        ("127.0.0.1", False, True),
        ("127.8.9.10", False, True),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),  # loopback, written as IPv6
        ("10.0.0.1", False, True),
        ("172.16.5.4", False, True),
        ("192.168.1.20", False, True),
        ("fd00::1", False, True),
        ("169.254.169.254", False, False),  # the cloud's metadata service: never
        ("fe80::1", False, False),
        ("0.0.0.0", False, False),
        ("::", False, False),
        ("224.0.0.1", False, False),
        ("255.255.255.255", False, False),
        ("100.64.0.1", False, False),  # carrier-grade NAT
        ("2002:7f00:1::", False, False),  # 6to4 of 127.0.0.1
        ("64:ff9b::7f00:1", False, False),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", False, False),  # 6to4 of 10.0.0.1: private on Python 3.13, not on 3.11
        ("64:ff9b:1::a00:1", False, False),  # local-use NAT64: global on 3.11, private on 3.13
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False, False),  # Teredo
    ],
)
def test_an_address_is_public_local_or_neither(address: str, public: bool, local: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert (is_public(ip), is_local(ip)) == (public, local)


async def test_a_name_must_resolve_to_public_addresses_only_and_the_request_goes_to_the_first() -> (
    None
):
    names = {"hooks.test": "93.184.216.34", "mixed.test": "10.0.0.1"}
    egress = Egress(resolver=fake_resolver(names))
    target = await egress.pin("https://hooks.test:8443/in?x=1")
    assert str(target.url) == "https://93.184.216.34:8443/in?x=1"
    assert (target.host_header, target.server_name) == ("hooks.test:8443", "hooks.test")
    for refused in ("https://mixed.test/in", "http://hooks.test/in", "https://gone.test/in"):
        with pytest.raises(NotAllowed):
            await egress.pin(refused)


async def test_allowing_private_addresses_opens_loopback_and_private_ranges_and_http_to_them() -> (
    None
):
    egress = Egress(allow_private=True, resolver=fake_resolver({"desk.lan": "192.168.1.20"}))
    for url in ("http://127.0.0.1:9/h", "http://desk.lan/h", "https://[::1]:8443/h"):
        await egress.check(url)
    for url in ("https://169.254.169.254/latest", "http://0.0.0.0/h"):
        with pytest.raises(NotAllowed):
            await egress.check(url)
    # Plain http only to what is local: never across the internet.
    public = Egress(allow_private=True, resolver=fake_resolver({"hooks.test": "93.184.216.34"}))
    with pytest.raises(NotAllowed):
        await public.check("http://hooks.test/h")


async def test_a_lookup_that_never_answers_ends_within_its_bound_as_not_resolving() -> None:
    async def never(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    egress = Egress(resolver=never, resolve_timeout=timedelta(seconds=0.2))
    async with asyncio.timeout(5):
        # Unresolved: at delivery, a failure retried later rather than a refusal for good.
        with pytest.raises(Unresolved):
            await egress.pin("https://stalled.test/in")


async def test_a_name_that_does_not_resolve_and_a_name_inside_are_refused_in_the_same_words() -> (
    None
):
    egress = Egress(
        resolver=fake_resolver({"inside.test": "10.0.0.1", "meta.test": "169.254.169.254"})
    )
    said = set()
    for url in ("https://gone.test/in", "https://inside.test/in", "https://meta.test/in"):
        with pytest.raises(NotAllowed) as refused:
            await egress.pin(url)
        said.add(str(refused.value))
    assert len(said) == 1
