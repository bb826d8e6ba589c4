"""The opening handshake checks and the 101 response head."""

import pytest

from gunicorn.asgi import websocket_handshake as hs
from gunicorn.http.events import Request


def request(headers, method="GET", version=(1, 1)):
    return Request(method, "/ws", "/ws", "", "", version, headers)


GOOD = [("HOST", "x"), ("UPGRADE", "websocket"), ("CONNECTION", "keep-alive, Upgrade"),
        ("SEC-WEBSOCKET-KEY", "dGhlIHNhbXBsZSBub25jZQ=="), ("SEC-WEBSOCKET-VERSION", "13")]


def test_rfc_example_accept_value():
    # RFC 6455 section 1.3 worked example.
    assert hs.accept_value("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_valid_handshake_returns_key():
    assert hs.is_websocket_upgrade(GOOD)
    assert hs.validate(request(GOOD)) == "dGhlIHNhbXBsZSBub25jZQ=="


def replace(name, value):
    return [(k, value if k == name else v) for k, v in GOOD if value is not None or k != name]


@pytest.mark.parametrize("headers,status", [
    (replace("SEC-WEBSOCKET-VERSION", "8"), 426),
    (replace("SEC-WEBSOCKET-KEY", "short"), 400),
    (replace("SEC-WEBSOCKET-KEY", None), 400),
    (replace("CONNECTION", "keep-alive"), 400),
])
def test_bad_handshakes(headers, status):
    with pytest.raises(hs.HandshakeError) as info:
        hs.validate(request(headers))
    assert info.value.status == status
    if status == 426:
        assert ("Sec-WebSocket-Version", "13") in info.value.headers


def test_post_and_http10_refused():
    with pytest.raises(hs.HandshakeError):
        hs.validate(request(GOOD, method="POST"))
    with pytest.raises(hs.HandshakeError):
        hs.validate(request(GOOD, version=(1, 0)))


def test_subprotocols_and_response_head():
    headers = GOOD + [("SEC-WEBSOCKET-PROTOCOL", "chat, superchat")]
    assert hs.requested_subprotocols(headers) == ["chat", "superchat"]
    head = hs.accept_response("dGhlIHNhbXBsZSBub25jZQ==", "chat", None, [(b"X-A", b"1")])
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert b"Sec-WebSocket-Protocol: chat\r\n" in head and b"X-A: 1\r\n" in head
    assert head.endswith(b"\r\n\r\n")


def test_response_refuses_header_injection():
    with pytest.raises(ValueError):
        hs.accept_response("k", None, None, [(b"X", b"a\r\nEvil: 1")])
