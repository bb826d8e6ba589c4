"""The HAProxy PROXY protocol header, v1 (text) and v2 (binary), read before the first request."""

import ipaddress
import socket

from gunicorn.http.errors import InvalidProxyHeader, InvalidProxyLine
from gunicorn.http.events import NEED_DATA

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V1_PREFIX = b"PROXY "
V1_MAX_LINE = 107  # the spec's worst case, CRLF included
#: Returned when the connection does not start with a PROXY header.
NOT_PROXY = object()

_V2_LOCAL, _V2_PROXY = 0x0, 0x1
_AF_UNSPEC, _AF_INET, _AF_INET6, _AF_UNIX = 0x0, 0x1, 0x2, 0x3
_STREAM = 0x1


class ProxyInfo:
    """Where the proxied connection really came from (None fields when not given)."""

    __slots__ = ("protocol", "client_addr", "client_port", "proxy_addr", "proxy_port")

    def __init__(self, protocol, client_addr=None, client_port=None, proxy_addr=None,
                 proxy_port=None):
        self.protocol = protocol
        self.client_addr = client_addr
        self.client_port = client_port
        self.proxy_addr = proxy_addr
        self.proxy_port = proxy_port

    def as_dict(self):
        """Upstream's ``req.proxy_protocol_info`` dict."""
        return {
            "proxy_protocol": self.protocol,
            "client_addr": self.client_addr,
            "client_port": self.client_port,
            "proxy_addr": self.proxy_addr,
            "proxy_port": self.proxy_port,
        }

    def environ(self):
        """WSGI environ keys: PROXY_PROTOCOL, PROXY_ADDR, PROXY_PORT, REMOTE_ADDR, REMOTE_PORT."""
        env = {"PROXY_PROTOCOL": self.protocol}
        if self.client_addr is not None:
            env["REMOTE_ADDR"] = self.client_addr
            env["REMOTE_PORT"] = str(self.client_port)
        if self.proxy_addr is not None:
            env["PROXY_ADDR"] = self.proxy_addr
            env["PROXY_PORT"] = str(self.proxy_port)
        return env

    def __repr__(self):
        return "ProxyInfo(%r, %r, %r, %r, %r)" % (
            self.protocol, self.client_addr, self.client_port, self.proxy_addr, self.proxy_port)


def read_proxy_header(buf, mode, closed):
    """Consume a PROXY header from ``buf``: ProxyInfo, NOT_PROXY, or NEED_DATA."""
    head = buf.peek(16)
    if mode != "v1" and head[:12] == V2_SIGNATURE[:len(head[:12])]:
        if len(head) >= 12:
            return _read_v2(buf)
        return NOT_PROXY if closed else NEED_DATA
    if mode != "v2" and head[:6] == V1_PREFIX[:len(head[:6])]:
        if len(head) >= 6:
            return _read_v1(buf, closed)
        return NOT_PROXY if closed else NEED_DATA
    return NOT_PROXY


def _port(text, line):
    if not text.isdigit() or not text.isascii() or len(text) > 5 or int(text) > 65535:
        raise InvalidProxyLine(line)
    return int(text)


def _read_v1(buf, closed):
    end = buf.find(b"\r\n", 0, V1_MAX_LINE)
    if end < 0:
        if len(buf) >= V1_MAX_LINE or buf.find(b"\n") >= 0:
            raise InvalidProxyLine(buf.peek(V1_MAX_LINE).decode("latin-1"))
        if closed:
            raise InvalidProxyLine(bytes(buf).decode("latin-1"))
        return NEED_DATA
    line = buf.extract(end + 2)[:-2].decode("latin-1")
    parts = line.split(" ")
    if len(parts) >= 2 and parts[1] == "UNKNOWN":
        # The proxy could not tell: use the real connection's addresses.
        return ProxyInfo("UNKNOWN")
    if len(parts) != 6:
        raise InvalidProxyLine(line)
    _, proto, src, dst, sport, dport = parts
    family = {"TCP4": 4, "TCP6": 6}.get(proto)
    if family is None:
        raise InvalidProxyLine("protocol %r not supported" % (proto,))
    for addr in (src, dst):
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise InvalidProxyLine(line) from None
        if ip.version != family:
            raise InvalidProxyLine(line)
    return ProxyInfo(proto, src, _port(sport, line), dst, _port(dport, line))


def _read_v2(buf):
    if buf.peek(12) != V2_SIGNATURE:
        raise InvalidProxyHeader("bad signature")
    if len(buf) < 16:
        return NEED_DATA
    head = buf.peek(16)
    version, command = head[12] >> 4, head[12] & 0x0F
    family, transport = head[13] >> 4, head[13] & 0x0F
    length = int.from_bytes(head[14:16], "big")
    if version != 2:
        raise InvalidProxyHeader("unsupported version %d" % version)
    if command not in (_V2_LOCAL, _V2_PROXY):
        raise InvalidProxyHeader("unsupported command %d" % command)
    if len(buf) < 16 + length:
        return NEED_DATA
    body = buf.extract(16 + length)[16:]
    if command == _V2_LOCAL:
        # Health checks from the proxy itself: keep the real addresses.
        return ProxyInfo("LOCAL")
    if family == _AF_UNSPEC:
        return ProxyInfo("UNSPEC")
    if transport != _STREAM:
        raise InvalidProxyHeader("only TCP (STREAM) is supported")
    if family == _AF_INET:
        if length < 12:
            raise InvalidProxyHeader("insufficient address data for IPv4")
        return ProxyInfo(
            "TCP4", socket.inet_ntop(socket.AF_INET, body[0:4]),
            int.from_bytes(body[8:10], "big"),
            socket.inet_ntop(socket.AF_INET, body[4:8]), int.from_bytes(body[10:12], "big"))
    if family == _AF_INET6:
        if length < 36:
            raise InvalidProxyHeader("insufficient address data for IPv6")
        return ProxyInfo(
            "TCP6", socket.inet_ntop(socket.AF_INET6, body[0:16]),
            int.from_bytes(body[32:34], "big"),
            socket.inet_ntop(socket.AF_INET6, body[16:32]), int.from_bytes(body[34:36], "big"))
    if family == _AF_UNIX:
        return ProxyInfo("UNIX")
    raise InvalidProxyHeader("unsupported address family %d" % family)
