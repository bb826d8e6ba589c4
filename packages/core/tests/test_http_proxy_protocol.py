"""PROXY protocol v1/v2: gunicorn.http.proxy_protocol and its use by the connection."""

import socket
import struct

import pytest
from corpus.inprocess import SERVER, StubConfig

from gunicorn.http import errors
from gunicorn.http.events import NEED_DATA, Request
from gunicorn.http.protocol import HTTP1Protocol
from gunicorn.http.proxy_protocol import (
    NOT_PROXY,
    V2_SIGNATURE,
    ProxyInfo,
    read_proxy_header,
)
from gunicorn.http.receive_buffer import ReceiveBuffer

V1_LINE = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"


def buffer(data):
    buf = ReceiveBuffer()
    buf.append(data)
    return buf


def v2_tcp4():
    addrs = (socket.inet_aton("192.0.2.1") + socket.inet_aton("198.51.100.2")
             + struct.pack(">HH", 56324, 443))
    return V2_SIGNATURE + b"\x21\x11" + struct.pack(">H", len(addrs)) + addrs


@pytest.mark.parametrize("mode", ["v1", "auto"])
def test_v1_parsed_and_consumed(mode):
    buf = buffer(V1_LINE + b"GET")
    info = read_proxy_header(buf, mode, False)
    assert (info.protocol, info.client_addr, info.client_port, info.proxy_addr,
            info.proxy_port) == ("TCP4", "192.0.2.1", 56324, "198.51.100.2", 443)
    assert bytes(buf) == b"GET"


@pytest.mark.parametrize("mode", ["v2", "auto"])
def test_v2_parsed_and_consumed(mode):
    buf = buffer(v2_tcp4() + b"GET")
    info = read_proxy_header(buf, mode, False)
    assert info.as_dict() == {"proxy_protocol": "TCP4", "client_addr": "192.0.2.1",
                              "client_port": 56324, "proxy_addr": "198.51.100.2",
                              "proxy_port": 443}
    assert bytes(buf) == b"GET"


@pytest.mark.parametrize("prefix", [b"", b"P", b"PROX", b"\r\n", b"\r\n\r\n\x00\r\nQUI"])
def test_partial_prefix_waits(prefix):
    assert read_proxy_header(buffer(prefix), "auto", False) is NEED_DATA
    assert read_proxy_header(buffer(prefix), "auto", True) is NOT_PROXY


@pytest.mark.parametrize("data", [b"GET / HTTP/1.1\r\nHost: x\r\n", b"\r\nGET", b"PROXX "])
def test_not_proxy(data):
    buf = buffer(data)
    assert read_proxy_header(buf, "auto", False) is NOT_PROXY
    assert bytes(buf) == data


def test_v2_waits_for_whole_header():
    full = v2_tcp4()
    for cut in (12, 15, 16, len(full) - 1):
        assert read_proxy_header(buffer(full[:cut]), "v2", False) is NEED_DATA


def test_v1_waits_for_line_end():
    assert read_proxy_header(buffer(V1_LINE[:-2]), "v1", False) is NEED_DATA
    with pytest.raises(errors.InvalidProxyLine):
        read_proxy_header(buffer(V1_LINE[:-2]), "v1", True)


def test_environ():
    info = ProxyInfo("TCP4", "192.0.2.1", 5, "198.51.100.2", 443)
    assert info.environ() == {"PROXY_PROTOCOL": "TCP4", "REMOTE_ADDR": "192.0.2.1",
                              "REMOTE_PORT": "5", "PROXY_ADDR": "198.51.100.2",
                              "PROXY_PORT": "443"}
    assert ProxyInfo("LOCAL").environ() == {"PROXY_PROTOCOL": "LOCAL"}
    assert "TCP4" in repr(info)


def connection(peer=("127.0.0.1", 9), **settings):
    return HTTP1Protocol(StubConfig(**settings), peer, SERVER, False)


def test_connection_exposes_proxy_on_every_request():
    p = connection(proxy_protocol="v1")
    p.receive_data(V1_LINE + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    req = p.next_event()
    assert isinstance(req, Request)
    assert req.proxy is p.proxy and req.proxy_protocol_info["client_addr"] == "192.0.2.1"
    assert req.extra_environ["PROXY_PORT"] == "443"
    assert req.extra_environ["REMOTE_ADDR"] == "192.0.2.1"


def test_connection_unix_peer_always_allowed():
    p = connection(peer="/tmp/sock", proxy_protocol="v1", proxy_allow_ips=["10.0.0.1"])
    p.receive_data(V1_LINE + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(p.next_event(), Request)


def test_connection_forbidden_peer():
    p = connection(peer=("192.0.2.9", 9), proxy_protocol="auto")
    p.receive_data(v2_tcp4())
    with pytest.raises(errors.ForbiddenProxyRequest) as info:
        p.next_event()
    assert info.value.status_code == 403


def test_connection_allow_cidr():
    p = connection(peer=("10.1.2.3", 9), proxy_protocol="v1", proxy_allow_ips=["10.0.0.0/8"])
    p.receive_data(V1_LINE + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert p.next_event().proxy.protocol == "TCP4"


def test_connection_waits_for_proxy_bytes():
    p = connection(proxy_protocol="auto")
    p.receive_data(b"PRO")
    assert p.next_event() is NEED_DATA
    p.receive_data(b"")
    with pytest.raises(errors.NoMoreData):
        p.next_event()
