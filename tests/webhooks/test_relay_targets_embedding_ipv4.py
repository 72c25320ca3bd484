"""IPv6 addresses that stand for an IPv4 address are judged by that address (issue 18,
finding 6): NAT64, 6to4 and IPv4-compatible relay targets reaching loopback or a private
network are refused like the IPv4 address itself."""

from __future__ import annotations

import pytest

from conferences.callbacks import relay


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
        "64:ff9b::a00:1",  # 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # 169.254.169.254, the cloud metadata service
        "64:ff9b:1::a00:1",  # local-use NAT64, /96 layout
        "64:ff9b:1:a00:1::",  # local-use NAT64, /48 layout: 10.0.0.1 around the u octet
        "64:ff9b:1:ff0a:0:1::",  # /56 layout: 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::a00:1",  # IPv4-compatible 10.0.0.1
        "::ffff:127.0.0.1",  # IPv4-mapped, as before
    ],
)
def test_an_ipv6_address_embedding_a_private_ipv4_is_not_public(address):
    assert not relay._is_public(address)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "::ffff:93.184.216.34"],
)
def test_an_ipv6_address_embedding_a_public_ipv4_is_public(address):
    assert relay._is_public(address)  # 93.184.216.34


def test_a_local_use_nat64_address_is_public_only_if_every_layout_is():
    # Read as /96 it embeds 8.8.8.8, but as a /64 layout it holds 10.x: refused.
    assert not relay._is_public("64:ff9b:1:0:a:0:808:808")
