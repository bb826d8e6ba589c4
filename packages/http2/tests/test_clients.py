"""Real HTTP/2 clients (curl, h2load, nghttp, httpx) against the gthread worker."""

import json
import shutil
import subprocess

import pytest
from conftest import curl, h2c_server, tls_server


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip("%s is not installed (apt: curl / nghttp2-client)" % tool)


def test_curl_negotiates_h2_over_tls(tls):
    need("curl")
    out = curl("-k", "--http2", "-w", "\n%{http_version} %{http_code}",
               "https://127.0.0.1:%d/env?q=1" % tls.port)
    body, _, tail = out.stdout.rpartition(b"\n")
    assert tail == b"2 200", out
    env = json.loads(body)
    assert env["SERVER_PROTOCOL"] == "HTTP/2.0"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "127.0.0.1:%d" % tls.port
    assert env["QUERY_STRING"] == "q=1"
    assert env["gunicorn.http2.priority_weight"] == 16
    assert env["has_send_trailers"] and env["has_early_hints"]


def test_curl_http11_still_served_on_the_same_tls_port(tls):
    need("curl")
    out = curl("-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
               "https://127.0.0.1:%d/" % tls.port)
    assert out.stdout == b"1.1 200", out


def test_curl_prior_knowledge_h2c(h2c):
    need("curl")
    out = curl("--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
               "http://127.0.0.1:%d/" % h2c.port)
    head = out.stdout.decode().lower()
    assert head.startswith("http/2 200"), out
    assert "server: gunicorn" in head and "date: " in head and "x-app: h2app" in head
    # The app's Connection header never reaches an HTTP/2 peer (RFC 9113 section 8.2.2).
    assert "connection:" not in head


def test_curl_plain_http11_on_an_h2c_port(h2c):
    need("curl")
    out = curl("-o", "/dev/null", "-w", "%{http_version} %{http_code}",
               "http://127.0.0.1:%d/" % h2c.port)
    assert out.stdout == b"1.1 200", out


def test_curl_upload_and_big_download(h2c, tmp_path):
    need("curl")
    blob = tmp_path / "up.bin"
    data = bytes(range(256)) * 4096          # 1 MiB: many times the 64 KiB window
    blob.write_bytes(data)
    out = curl("--http2-prior-knowledge", "--data-binary", "@%s" % blob,
               "http://127.0.0.1:%d/echo" % h2c.port)
    assert out.stdout == data
    out = curl("--http2-prior-knowledge", "http://127.0.0.1:%d/big" % h2c.port)
    assert out.stdout == b"x" * (1 << 20)


def test_h2load_tls(tls):
    need("h2load")
    out = subprocess.run(["h2load", "-n", "200", "-c", "4", "-m", "10",
                          "https://127.0.0.1:%d/sized" % tls.port],
                         capture_output=True, text=True, timeout=60)
    assert "Application protocol: h2" in out.stdout, out.stdout
    assert "200 succeeded, 0 failed, 0 errored, 0 timeout" in out.stdout, out.stdout
    assert "status codes: 200 2xx" in out.stdout


def test_h2load_h2c_with_uploads(h2c, tmp_path):
    need("h2load")
    payload = tmp_path / "p.bin"
    payload.write_bytes(b"z" * 100_000)
    out = subprocess.run(["h2load", "-n", "100", "-c", "4", "-m", "10", "-d", str(payload),
                          "http://127.0.0.1:%d/echo" % h2c.port],
                         capture_output=True, text=True, timeout=60)
    assert "100 succeeded, 0 failed, 0 errored, 0 timeout" in out.stdout, out.stdout


def test_nghttp_sees_the_configured_settings(cert):
    need("nghttp")
    with tls_server(cert, "--http2-max-concurrent-streams", "7",
                    "--http2-initial-window-size", "131072",
                    "--http2-max-frame-size", "32768") as srv:
        out = subprocess.run(["nghttp", "-nv", "https://127.0.0.1:%d/" % srv.port],
                             capture_output=True, text=True, timeout=30)
    text = out.stdout
    assert "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7" in text, text
    assert "SETTINGS_INITIAL_WINDOW_SIZE(0x04):131072" in text
    assert "SETTINGS_MAX_FRAME_SIZE(0x05):32768" in text
    assert ":status: 200" in text


def test_nghttp_many_streams_on_one_h2c_connection(h2c):
    need("nghttp")
    urls = ["http://127.0.0.1:%d/sized?%d" % (h2c.port, i) for i in range(20)]
    out = subprocess.run(["nghttp", "-ns", *urls], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    # One line per response in the statistics table.
    assert sum(1 for line in out.stdout.splitlines() if "/sized?" in line) == 20


def test_httpx_http2_over_tls(tls):
    httpx = pytest.importorskip("httpx", reason="httpx is not installed")
    with httpx.Client(http2=True, verify=False, timeout=10) as client:
        base = "https://127.0.0.1:%d" % tls.port
        r = client.get(base + "/env")
        assert r.http_version == "HTTP/2"
        assert r.json()["SERVER_PROTOCOL"] == "HTTP/2.0"
        r = client.post(base + "/echo", content=b"q" * 300_000)
        assert r.status_code == 200 and r.content == b"q" * 300_000
        r = client.head(base + "/sized")
        assert r.status_code == 200 and r.headers["content-length"] == "1000"
        assert r.content == b""


def test_h2c_from_an_untrusted_peer_is_not_http2(tmp_path):
    need("curl")
    with h2c_server("--forwarded-allow-ips", "10.9.8.7") as srv:
        out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}",
                   "http://127.0.0.1:%d/" % srv.port)
        assert out.stdout != b"2"
        # HTTP/1.1 is still served to that peer.
        ok = curl("-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:%d/" % srv.port)
        assert ok.stdout == b"200"
