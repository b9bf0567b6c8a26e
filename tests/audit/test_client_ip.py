"""portal.http.client_ip: REMOTE_ADDR unless settings trust N proxies; then X-Forwarded-For's
N-th hop from the right, validated, and never what the client forged to the left of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from portal.http import client_ip

PROXY, EDGE = "10.0.0.5", "10.0.0.9"  # the proxy next to Tollgate, the one in front of it
CLIENT = "203.0.113.7"


def ip(settings: Any, proxies: int, forwarded: str | None, remote: str = PROXY) -> str | None:
    settings.TOLLGATE = {**settings.TOLLGATE, "TRUSTED_PROXY_COUNT": proxies}
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(request)


def test_no_trusted_proxy_reads_remote_addr_only(settings: Any) -> None:
    assert ip(settings, 0, CLIENT) == PROXY
    assert ip(settings, 0, None) == PROXY


def test_the_default_trusts_no_proxy(settings: Any) -> None:
    settings.TOLLGATE = {k: v for k, v in settings.TOLLGATE.items() if k != "TRUSTED_PROXY_COUNT"}
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)
    assert client_ip(request) == PROXY


def test_one_proxy_the_last_hop_is_the_client(settings: Any) -> None:
    assert ip(settings, 1, CLIENT) == CLIENT
    assert ip(settings, 1, f" {CLIENT} ") == CLIENT


def test_two_proxies_the_hop_before_the_edge_is_the_client(settings: Any) -> None:
    assert ip(settings, 2, f"{CLIENT}, {EDGE}") == CLIENT


@pytest.mark.parametrize("forged", ["1.2.3.4", "1.2.3.4, 5.6.7.8", "garbage, 127.0.0.1"])
def test_a_forged_header_cannot_choose_the_address(settings: Any, forged: str) -> None:
    """The client sends its own X-Forwarded-For; each proxy appends to it."""
    assert ip(settings, 1, f"{forged}, {CLIENT}") == CLIENT
    assert ip(settings, 2, f"{forged}, {CLIENT}, {EDGE}") == CLIENT


@pytest.mark.parametrize("bad", ["garbage", "999.1.1.1", "<script>", "203.0.113.7:443", ""])
def test_not_an_ip_address_falls_back_to_remote_addr(settings: Any, bad: str) -> None:
    assert ip(settings, 1, bad) == PROXY
    assert ip(settings, 2, f"{bad}, {EDGE}") == PROXY


def test_fewer_hops_than_proxies_falls_back_to_remote_addr(settings: Any) -> None:
    """The request did not come through every proxy (or the count is wrong): trust nothing."""
    assert ip(settings, 2, CLIENT) == PROXY
    assert ip(settings, 1, None) == PROXY


def test_ipv6_is_normalised(settings: Any) -> None:
    assert ip(settings, 1, "2001:DB8::1") == "2001:db8::1"
    assert ip(settings, 0, None, remote="2001:db8::2") == "2001:db8::2"
