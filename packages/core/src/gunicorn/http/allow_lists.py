"""Whether a peer address is in an allow list such as forwarded_allow_ips or proxy_allow_ips."""

import ipaddress


def parse_networks(allow_ips):
    """Turn a list (or comma string) of IPs/CIDRs into ip_network objects; "*" is kept aside."""
    if isinstance(allow_ips, str):
        allow_ips = allow_ips.split(",")
    networks = []
    for item in allow_ips or ():
        item = item.strip()
        if not item or item == "*":
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return networks


def peer_allowed(peer_addr, allow_ips, networks):
    """True for unix-socket peers, for "*", or when the peer's IP is in ``networks``."""
    if not isinstance(peer_addr, tuple):
        return True
    if allow_ips == "*" or (not isinstance(allow_ips, str) and "*" in (allow_ips or ())):
        return True
    try:
        ip = ipaddress.ip_address(peer_addr[0])
    except (ValueError, IndexError, TypeError):
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        mapped = ip.ipv4_mapped
        return any(ip in net or mapped in net for net in networks)
    return any(ip in net for net in networks)
