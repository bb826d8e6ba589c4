"""Which peers may send uwsgi packets: the ``uwsgi_allow_ips`` setting applied to a peer address."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

ALLOW_ALL = "*"


class PeerAllowList:
    """Networks allowed to talk uwsgi to us; Unix-socket peers are always allowed."""

    __slots__ = ("allow_all", "networks")

    def __init__(self, entries):
        self.allow_all = False
        networks = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            if entry == ALLOW_ALL:
                self.allow_all = True
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"uwsgi_allow_ips: {entry!r} is not an IP address or network")
        self.networks = tuple(networks)

    def allows(self, peer_addr) -> bool:
        if self.allow_all or not is_ip_peer(peer_addr):
            return True
        try:
            address = ipaddress.ip_address(peer_addr[0].split("%", 1)[0])
        except ValueError:
            return False
        # An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
        mapped = getattr(address, "ipv4_mapped", None)
        return any(address in net or (mapped is not None and mapped in net)
                   for net in self.networks)


def is_ip_peer(peer_addr) -> bool:
    """True for a TCP peer ``(host, port, ...)``; Unix-socket peers are a path, ``''`` or None."""
    return isinstance(peer_addr, (tuple, list)) and bool(peer_addr) and isinstance(peer_addr[0], str)


def allow_list_for(setting) -> PeerAllowList:
    """The allow list for a ``uwsgi_allow_ips`` value (a list or a comma-separated string)."""
    if setting is None:
        setting = ()
    elif isinstance(setting, str):
        setting = setting.split(",")
    return _cached_allow_list(tuple(setting))


@lru_cache(maxsize=16)
def _cached_allow_list(entries: tuple) -> PeerAllowList:
    # Protocols are built per connection; parse each distinct setting value once.
    return PeerAllowList(entries)
