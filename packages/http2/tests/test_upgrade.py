"""h2c by HTTP/1.1 ``Upgrade: h2c`` (``--http2-cleartext upgrade|both``)."""

import json
import shutil
import socket
import subprocess
import time

import pytest
from conftest import curl, h2_client, h2_server


@pytest.fixture(scope="module")
def both():
    with h2_server("--http2-cleartext", "both") as srv:
        yield srv


def test_curl_upgrades_and_gets_the_answer_over_http2(both):
    out = curl("-v", "--http2", "http://127.0.0.1:%d/env?u=1" % both.port)
    log = out.stderr.decode()
    assert "< HTTP/1.1 101 Switching Protocols" in log
    assert "< HTTP/2 200" in log
    env = json.loads(out.stdout)
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0" and env["QUERY_STRING"] == "u=1"
    assert env["HTTP_VERSION"] == "2"
    # The upgrade's own fields are not the application's business.
    assert "HTTP_UPGRADE" not in env and "HTTP_HTTP2_SETTINGS" not in env


def test_prior_knowledge_also_works_in_both_mode(both):
    out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}",
               "http://127.0.0.1:%d/" % both.port)
    assert out.stdout == b"2"


def test_nghttp_upgrade(both):
    if shutil.which("nghttp") is None:
        pytest.skip("nghttp is not installed (apt: nghttp2-client)")
    out = subprocess.run(["nghttp", "-nvu", "http://127.0.0.1:%d/sized" % both.port],
                         capture_output=True, text=True, timeout=30)
    assert "HTTP Upgrade success" in out.stdout, out.stdout
    assert ":status: 200" in out.stdout


def test_a_request_with_a_body_stays_http11(both):
    out = curl("--http2", "--data-binary", "hello", "-w", " %{http_version}",
               "http://127.0.0.1:%d/echo" % both.port)
    assert out.stdout == b"hello 1.1"


def test_bad_http2_settings_is_served_as_http11(both):
    raw = both.request(b"GET /sized HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
                       b"Upgrade: h2c\r\nHTTP2-Settings: !!!\r\n\r\n", timeout=3)
    assert raw.startswith(b"HTTP/1.1 200 ")


def test_upgrade_from_an_untrusted_peer_is_served_as_http11():
    with h2_server("--http2-cleartext", "upgrade", "--forwarded-allow-ips", "10.1.2.3") as srv:
        out = curl("-v", "--http2", "-o", "/dev/null", "http://127.0.0.1:%d/" % srv.port)
        log = out.stderr.decode()
        assert "101 Switching" not in log and "< HTTP/1.1 200" in log


def test_upgrade_mode_does_not_take_prior_knowledge():
    with h2_server("--http2-cleartext", "upgrade") as srv:
        out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}",
                   "http://127.0.0.1:%d/" % srv.port)
        assert out.stdout != b"2"


def test_a_preface_arriving_a_byte_at_a_time_is_still_http2(h2c):
    # "P" alone could open POST: wait for "PRI" before telling the protocols apart.
    client = h2_client()
    preface_and_request = client.data_to_send()
    client.send_headers(1, [(":method", "GET"), (":path", "/sized"), (":scheme", "http"),
                            (":authority", "h")], end_stream=True)
    preface_and_request += client.data_to_send()
    with socket.create_connection(("127.0.0.1", h2c.port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(preface_and_request[:1])
        time.sleep(0.3)
        sock.sendall(preface_and_request[1:])
        received = b""
        while b"y" * 1000 not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert not received.startswith(b"HTTP/1.1")
    assert b"y" * 1000 in received
