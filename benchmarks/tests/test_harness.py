"""Tests for the benchmark harness: scheduling, ratios, reports, and its load helpers."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, BENCH_DIR)

from harness import idle_holder, load, report, scenarios, schedule, servers  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _record(server, scenario, rnd, rps, ok=True, error=None):
    rec = {"server": server, "scenario": scenario, "round": rnd, "ok": ok, "error": error}
    if ok:
        rec["metrics"] = {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0,
                          "requests": int(rps)}
        rec["peak_rss_kib"] = 20480
    return rec


CONFIG = {"workers": 1, "threads": 4, "wrk_threads": 1, "connections": 50, "duration": 5,
          "warmup": 1, "rounds": 3, "idle_connections": 1000, "loadavg_start": "0.1"}


def test_comparison_order_keeps_pairs_adjacent_rotates_and_flips():
    specs = servers.select(["upstream-sync", "ours-sync", "upstream-gthread", "ours-gthread",
                            "uvicorn"])
    names = [[s.name for s in schedule.comparison_order(specs, rnd)] for rnd in range(3)]
    assert names[0] == ["upstream-sync", "ours-sync", "upstream-gthread", "ours-gthread",
                        "uvicorn"]
    assert names[1] == ["ours-gthread", "upstream-gthread", "uvicorn", "ours-sync",
                        "upstream-sync"]
    assert names[2] == ["uvicorn", "upstream-sync", "ours-sync", "upstream-gthread",
                        "ours-gthread"]


def test_modes_split_plain_http_from_h2c_and_behind_nginx():
    specs = servers.select(["upstream-sync", "upstream-gthread", "pyuwsgi"])
    chosen = scenarios.select(["h2", "hello", "uwsgi", "close"])
    plan = [(sc, [s for s in specs if scenarios.applies(sc, s)]) for sc in chosen]
    got = [(mode, [(sc.name, [s.name for s in sp]) for sc, sp in pairs])
           for mode, pairs in schedule.modes(plan)]
    assert got == [
        ("http", [("hello", ["upstream-sync", "upstream-gthread"]),
                  ("close", ["upstream-sync", "upstream-gthread"])]),
        ("h2c", [("h2", ["upstream-gthread"])]),
        ("uwsgi", [("uwsgi", ["upstream-sync", "upstream-gthread", "pyuwsgi"])]),
    ]


def test_ratio_is_the_median_of_same_round_ratios():
    specs = servers.select(["upstream-sync", "ours-sync"])
    hello = scenarios.select(["hello"])
    runs = [
        _record("upstream-sync", "hello", 0, 1000), _record("ours-sync", "hello", 0, 1500),
        _record("upstream-sync", "hello", 1, 500), _record("ours-sync", "hello", 1, 1000),
        _record("upstream-sync", "hello", 2, 2000), _record("ours-sync", "hello", 2, 2200),
    ]
    summary = report.summarize(hello, specs, runs)
    assert summary["hello"]["ours-sync"]["ratios"]["vs upstream"] == pytest.approx(1.5)
    assert summary["hello"]["ours-sync"]["rps"] == 1500
    assert "ratios" not in summary["hello"]["upstream-sync"]


def test_markdown_says_only_ratios_count_and_marks_unavailable_rows():
    specs = servers.select(["upstream-asgi", "ours-asgi", "uvicorn"])
    hello = scenarios.select(["hello"])
    runs = [_record("upstream-asgi", "hello", 0, 1000), _record("uvicorn", "hello", 0, 2000),
            _record("ours-asgi", "hello", 0, 0, ok=False,
                    error="not available: start failed: exited with 1: boom\ntrace")]
    summary = report.summarize(hello, specs, runs)
    text = report.markdown(hello, specs, summary, dict(CONFIG, rounds=1))
    assert "only the same-run ratios count" in text
    assert "### hello" in text
    ours_row = next(line for line in text.splitlines() if line.startswith("| ours-asgi"))
    assert "not available: start failed" in ours_row and "trace" not in ours_row


def test_vs_uvicorn_column_appears_only_with_uvicorn_data():
    specs = servers.select(["upstream-asgi", "ours-asgi"])
    hello = scenarios.select(["hello"])
    runs = [_record("upstream-asgi", "hello", 0, 1000), _record("ours-asgi", "hello", 0, 900)]
    text = report.markdown(hello, specs, report.summarize(hello, specs, runs), CONFIG)
    assert "vs upstream" in text and "vs uvicorn" not in text
    assert "0.90x" in text


def test_server_groups_and_unknown_names():
    assert {s.name for s in servers.select(["default"])} >= {
        "upstream-sync", "ours-sync", "upstream-gthread", "ours-gthread"}
    assert all(s.venv == "ours" for s in servers.select(["ours"]))
    with pytest.raises(KeyError):
        servers.select(["nope"])


def test_gunicorn_command_lines_match_between_ours_and_upstream():
    tuning = servers.Tuning(workers=2, threads=3)
    ours = servers.BY_NAME["ours-gthread"].argv("/o/python", 8000, tuning)
    upstream = servers.BY_NAME["upstream-gthread"].argv("/u/python", 8000, tuning)
    assert ours[1:] == upstream[1:]
    assert ["-w", "2"] == ours[ours.index("-w"):ours.index("-w") + 2]
    assert "--threads" in ours and ours[-1] == servers.WSGI_APP
    uwsgi = servers.BY_NAME["ours-sync"].argv("/o/python", 8000, tuning, protocol="uwsgi")
    assert uwsgi[uwsgi.index("--protocol") + 1] == "uwsgi"
    assert servers.BY_NAME["ours-asgi"].argv("/o/python", 1, tuning)[-1] == servers.ASGI_APP


def test_python_floor_is_measured_against_pyuwsgi_behind_nginx_only():
    floor = servers.BY_NAME["python-floor"]
    assert not floor.http and floor.uwsgi and not floor.default
    argv = floor.argv("/f/python", 8123, servers.Tuning(workers=4))
    assert argv[0] == "/f/python" and argv[1].endswith("bare_uwsgi_loop.py") and argv[2] == "8123"
    specs = servers.select(["pyuwsgi", "python-floor"])
    uwsgi = scenarios.select(["uwsgi"])
    runs = [_record("pyuwsgi", "uwsgi", 0, 1000), _record("python-floor", "uwsgi", 0, 900)]
    summary = report.summarize(uwsgi, specs, runs)
    assert summary["uwsgi"]["python-floor"]["ratios"]["vs pyuwsgi"] == pytest.approx(0.9)


def _uwsgi_packet(pairs):
    block = b"".join(len(item).to_bytes(2, "little") + item
                     for pair in pairs for item in pair)
    return b"\x00" + len(block).to_bytes(2, "little") + b"\x00" + block


def test_python_floor_loop_answers_a_uwsgi_request():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = servers.BY_NAME["python-floor"].argv(sys.executable, port, servers.Tuning())
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        packet = _uwsgi_packet([(b"REQUEST_METHOD", b"POST"), (b"PATH_INFO", b"/upload"),
                                (b"CONTENT_LENGTH", b"5"), (b"SERVER_PROTOCOL", b"HTTP/1.1")])
        deadline = time.monotonic() + 10
        while True:
            try:
                # Connect-and-leave, as the harness's readiness probe does.
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(packet + b"hello")
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert reply.endswith(b"\r\n\r\n5")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("raw", "expected"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", None),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", True),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nab", False),
])
def test_idle_holder_reads_whether_the_server_keeps_the_connection(raw, expected):
    assert idle_holder._parse_response(raw) is expected


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    close_after = False

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "13")
        if self.close_after:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"Hello, World!")

    def log_message(self, *args):
        pass


@pytest.fixture
def stdlib_server(request):
    handler = type("Handler", (_KeepAliveHandler,), {"close_after": request.param})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(("stdlib_server", "held"), [(False, 20), (True, 0)],
                         indirect=["stdlib_server"])
def test_idle_holder_holds_keep_alive_connections(stdlib_server, held):
    script = os.path.join(BENCH_DIR, "harness", "idle_holder.py")
    done = subprocess.run([sys.executable, script, str(stdlib_server), "20", "10"],
                          input="", capture_output=True, text=True, timeout=30)
    ready, final = [json.loads(line) for line in done.stdout.splitlines()]
    assert ready["ready"] == held
    assert ready["closed_by_server"] == 20 - held
    assert final["still_open"] == held


@pytest.mark.skipif(not os.access(load.WRK, os.X_OK), reason="wrk is not installed")
@pytest.mark.parametrize("stdlib_server", [False], indirect=True)
def test_wrk_summary_is_read_from_the_lua_hook(stdlib_server, tmp_path):
    script = load.write_script(str(tmp_path), "")
    result = load.run_wrk(f"http://127.0.0.1:{stdlib_server}/", 1, threads=1,
                          connections=2, script=script)
    assert result["requests"] > 0 and result["rps"] > 0
    assert result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
