"""Corpus: PROXY protocol v1 and v2 before the first request (proxy_protocol, proxy_allow_ips)."""

import socket
import struct

from .build import bad, get, ok

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V1 = {"proxy_protocol": "v1"}
V2 = {"proxy_protocol": "v2"}
AUTO = {"proxy_protocol": "auto"}


def v2(command=0x21, family=0x11, addresses=None):
    if addresses is None:
        addresses = (socket.inet_pton(socket.AF_INET, "192.0.2.1")
                     + socket.inet_pton(socket.AF_INET, "198.51.100.2")
                     + struct.pack(">HH", 56324, 443))
    return V2_SIG + bytes([command, family]) + struct.pack(">H", len(addresses)) + addresses


V2_TCP6 = (socket.inet_pton(socket.AF_INET6, "2001:db8::1")
           + socket.inet_pton(socket.AF_INET6, "2001:db8::2") + struct.pack(">HH", 1234, 80))

TCP4 = {"proxy": {"protocol": "TCP4", "client_addr": "192.0.2.1", "client_port": 56324,
                  "proxy_addr": "198.51.100.2", "proxy_port": 443}}

SPECS = [
    ok("proxy-v1-tcp4", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + get("/"), TCP4,
       settings=V1),
    ok("proxy-v1-tcp6", b"PROXY TCP6 2001:db8::1 2001:db8::2 1234 80\r\n" + get("/"),
       {"proxy": {"protocol": "TCP6", "client_addr": "2001:db8::1", "client_port": 1234}},
       settings=V1),
    ok("proxy-v1-unknown", b"PROXY UNKNOWN\r\n" + get("/"),
       {"proxy": {"protocol": "UNKNOWN", "client_addr": None}}, settings=V1),
    ok("proxy-v1-auto", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + get("/"), TCP4,
       settings=AUTO),
    ok("proxy-v1-applies-to-pipelined", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"
       + get("/a") + get("/b"), dict(TCP4, path="/a"), dict(TCP4, path="/b"), settings=V1),
    ok("proxy-optional-when-absent", get("/"), {"proxy": None}, settings=AUTO),
    ok("proxy-v2-tcp4", v2() + get("/"), TCP4, settings=V2),
    ok("proxy-v2-auto", v2() + get("/"), TCP4, settings=AUTO),
    ok("proxy-v2-tcp6", v2(family=0x21, addresses=V2_TCP6) + get("/"),
       {"proxy": {"protocol": "TCP6", "client_addr": "2001:db8::1", "proxy_port": 80}},
       settings=V2),
    ok("proxy-v2-local", v2(command=0x20, family=0x00, addresses=b"") + get("/"),
       {"proxy": {"protocol": "LOCAL", "client_addr": None}}, settings=V2),
    ok("proxy-v2-with-tlv", v2(addresses=v2()[16:] + b"\x04\x00\x01x") + get("/"), TCP4,
       settings=V2),
    ok("proxy-allow-all", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + get("/"), TCP4,
       settings={"proxy_protocol": "v1", "proxy_allow_ips": "*"}),

    bad("proxy-v1-when-off", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + get("/"),
        400, "InvalidRequestLine"),
    bad("proxy-v1-when-v2-only", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n" + get("/"),
        400, "InvalidRequestLine", settings=V2),
    # The v2 signature starts with two empty lines: an empty request line.
    bad("proxy-v2-when-v1-only", v2() + get("/"), 400, "InvalidRequestLine", settings=V1),
    bad("proxy-v1-forbidden-peer", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"
        + get("/"), 403, "ForbiddenProxyRequest",
        settings={"proxy_protocol": "v1", "proxy_allow_ips": "10.0.0.1"}),
    bad("proxy-v2-forbidden-peer", v2() + get("/"), 403, "ForbiddenProxyRequest",
        settings={"proxy_protocol": "v2", "proxy_allow_ips": "10.0.0.1"}),
    bad("proxy-v1-bad-address", b"PROXY TCP4 192.0.2.300 198.51.100.2 1 2\r\n" + get("/"), 400,
        "InvalidProxyLine", settings=V1),
    bad("proxy-v1-family-mismatch", b"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n" + get("/"),
        400, "InvalidProxyLine", settings=V1),
    bad("proxy-v1-bad-port", b"PROXY TCP4 192.0.2.1 198.51.100.2 70000 443\r\n" + get("/"),
        400, "InvalidProxyLine", settings=V1),
    bad("proxy-v1-signed-port", b"PROXY TCP4 192.0.2.1 198.51.100.2 +80 443\r\n" + get("/"),
        400, "InvalidProxyLine", settings=V1),
    bad("proxy-v1-missing-field", b"PROXY TCP4 192.0.2.1 198.51.100.2 80\r\n" + get("/"), 400,
        "InvalidProxyLine", settings=V1),
    bad("proxy-v1-udp", b"PROXY UDP4 192.0.2.1 198.51.100.2 80 443\r\n" + get("/"), 400,
        "InvalidProxyLine", settings=V1),
    bad("proxy-v1-too-long", b"PROXY TCP4 " + b"1" * 120 + b"\r\n" + get("/"), 400,
        "InvalidProxyLine", settings=V1),
    bad("proxy-v1-bare-lf", b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\n" + get("/"), 400,
        "InvalidProxyLine", settings=V1),
    bad("proxy-v1-second-request-not-proxy", get("/a") + b"PROXY TCP4 192.0.2.1 198.51.100.2"
        b" 1 2\r\n" + get("/b"), 400, "InvalidRequestLine", {"path": "/a"}, settings=V1),
    bad("proxy-v2-bad-version", V2_SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12 + get("/"), 400,
        "InvalidProxyHeader", settings=V2),
    bad("proxy-v2-bad-command", V2_SIG + b"\x2f\x11\x00\x0c" + b"\x00" * 12 + get("/"), 400,
        "InvalidProxyHeader", settings=V2),
    bad("proxy-v2-udp", v2(family=0x12) + get("/"), 400, "InvalidProxyHeader", settings=V2),
    bad("proxy-v2-short-ipv4", v2(addresses=b"\x00" * 8) + get("/"), 400,
        "InvalidProxyHeader", settings=V2),
    bad("proxy-v2-bad-family", v2(family=0x41) + get("/"), 400, "InvalidProxyHeader",
        settings=V2),
]
