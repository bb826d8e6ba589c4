"""Tests for the HTTP/2 scenario: h2load's report and log parsed into the wrk record,
which servers take part (and why the others do not), and the h2c command lines."""

import os
import socket
import sys
import threading
import time

import pytest

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, BENCH_DIR)

from harness import h2load, report, scenarios, servers  # noqa: E402

pytestmark = pytest.mark.timeout(60)

# Recorded from `h2load -D 2 --warm-up-time 1 -c 4 -m 10 -t 1 --log-file F URL` against
# upstream gunicorn 27.0.1 -k gthread --http2-cleartext prior-knowledge.
TIMED_RUN = """\
starting benchmark...
spawning thread #0: 4 total client(s). Timing-based test with 1s of warm-up time and 2s of main duration for measurements.
Warm-up started for thread #0.
progress: 25% of clients started
progress: 100% of clients started
Application protocol: h2c
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 3.00s, 1869.00 req/s, 82.23KB/s
requests: 3738 total, 3738 started, 3738 done, 3738 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 3739 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 164.46KB (168408) total, 26.78KB (27424) headers (space savings 94.65%), 68.49KB (70135) data
                     min         max         mean         sd        +/- sd
time for request:     1.68ms     50.44ms     21.45ms      9.02ms    66.08%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :     451.88      478.35      466.62       11.04    50.00%
"""  # noqa: E501

# Recorded from `h2load -n 200 -c 2 -m 10` against upstream's sync worker, which has
# no HTTP/2: every stream errors.
ALL_ERRORED = """\
Application protocol: h2c

finished in 2.07ms, 0.00 req/s, 282.65KB/s
requests: 200 total, 20 started, 0 done, 0 succeeded, 200 failed, 200 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 599B (599) total, 0B (0) headers (space savings 0.00%), 0B (0) data
"""


def test_report_of_a_timed_run_is_parsed():
    got = h2load.parse_report(TIMED_RUN)
    assert got["rps"] == 1869.0 and got["seconds"] == 3.0
    assert (got["done"], got["succeeded"], got["failed"], got["errored"]) == (3738, 3738, 0, 0)
    assert got["s2xx"] == 3739 and got["s4xx"] == 0
    assert got["bytes"] == 168408 and got["data_bytes"] == 70135
    assert got["min_ms"] == pytest.approx(1.68) and got["max_ms"] == pytest.approx(50.44)
    assert got["mean_ms"] == pytest.approx(21.45)
    assert got["protocol"] == "h2c"


@pytest.mark.parametrize(("text", "ms"), [("473us", 0.473), ("1.22ms", 1.22), ("1.5s", 1500.0)])
def test_h2load_durations_in_every_unit(text, ms):
    assert h2load._ms(text) == pytest.approx(ms)


def test_a_missing_summary_is_an_error_not_zero():
    with pytest.raises(h2load.H2LoadError, match="no h2load summary"):
        h2load.parse_report("starting benchmark...\nconnect: Connection refused\n")


def test_log_gives_percentiles_and_leaves_failed_streams_out():
    # start (us), status, us to the end of the response; -1 marks a failed stream.
    lines = [f"1795661980{i:06d}\t200\t{(i + 1) * 1000}" for i in range(100)]
    lines += ["1795661980999999\t-1\t999999", "1795661980999998\t0\t500", "garbage"]
    latencies = h2load.latencies_ms("\n".join(lines) + "\n")
    assert len(latencies) == 101  # the -1 row and the garbage line are dropped
    record = h2load.metrics(h2load.parse_report(TIMED_RUN), latencies)
    assert record["p50_ms"] == pytest.approx(50.0)
    assert record["p99_ms"] == pytest.approx(99.0)
    assert record["max_ms"] == pytest.approx(100.0)


def test_metrics_have_the_wrk_record_keys_so_reports_work_unchanged():
    record = h2load.metrics(h2load.parse_report(TIMED_RUN), [1.0, 2.0, 3.0])
    wrk_keys = {"rps", "requests", "p50_ms", "p90_ms", "p99_ms", "max_ms", "socket_errors",
                "non2xx", "errors", "error_detail", "transfer_bytes"}
    assert wrk_keys <= record.keys()
    assert record["rps"] == 1869.0 and record["requests"] == 3738 and record["errors"] == 0


def test_errored_streams_and_error_statuses_count_as_errors():
    errored = h2load.metrics(h2load.parse_report(ALL_ERRORED), [])
    assert errored["errors"] == 200 and errored["socket_errors"] == 200
    assert errored["p50_ms"] is None  # no log lines and no "time for request" line
    statuses = TIMED_RUN.replace("3739 2xx, 0 3xx, 0 4xx, 0 5xx", "3700 2xx, 5 3xx, 30 4xx, 4 5xx")
    mixed = h2load.metrics(h2load.parse_report(statuses), [1.0])
    assert mixed["non2xx"] == 34 and mixed["errors"] == 34  # 3xx is not an error, as in wrk


def test_h2load_is_bounded_in_time_connections_and_streams():
    argv = h2load.h2load_argv("http://127.0.0.1:1/", duration=4, warmup=1, clients=8,
                              streams=10, threads=1, log_file="/tmp/x.tsv")
    pairs = dict(zip(argv[1:-1:2], argv[2:-1:2], strict=True))
    assert pairs == {"-c": "8", "-m": "10", "-t": "1", "-D": "4",
                     "--warm-up-time": "1", "--log-file": "/tmp/x.tsv"}
    assert argv[0] == h2load.H2LOAD and argv[-1] == "http://127.0.0.1:1/"
    no_warmup = h2load.h2load_argv("http://127.0.0.1:1/", 4, 0, 8, 10, 1)
    assert "--warm-up-time" not in no_warmup and "--log-file" not in no_warmup


def test_h2_is_selectable_but_not_default():
    assert scenarios.BY_NAME["h2"] not in scenarios.select(["default"])
    assert scenarios.select(["h2"]) == [scenarios.BY_NAME["h2"]]
    assert scenarios.BY_NAME["h2"] in scenarios.select(["all"])
    assert scenarios.BY_NAME["h2"].mode == "h2c"
    assert [scenarios.BY_NAME[n].mode for n in ("hello", "uwsgi")] == ["http", "uwsgi"]


def test_only_servers_with_cleartext_http2_take_part_and_the_rest_say_why():
    h2 = scenarios.BY_NAME["h2"]
    taking_part = {s.name for s in servers.SERVERS if scenarios.applies(h2, s)}
    assert taking_part == {"upstream-gthread", "ours-gthread", "upstream-asgi", "ours-asgi",
                           "upstream-gevent", "ours-gevent", "granian-wsgi", "granian-asgi",
                           "hypercorn"}
    why = {s.name: scenarios.skip_reason(h2, s) for s in servers.SERVERS}
    assert "sync worker has no HTTP/2" in why["ours-sync"]
    assert why["uvicorn"] == "uvicorn has no HTTP/2"
    assert why["pyuwsgi"] == "uwsgi protocol only, no HTTP"
    # The plain HTTP scenarios are unchanged: the sync pair runs, pyuwsgi does not.
    hello = scenarios.BY_NAME["hello"]
    assert scenarios.applies(hello, servers.BY_NAME["ours-sync"])
    assert not scenarios.applies(hello, servers.BY_NAME["pyuwsgi"])


def test_gunicorn_h2c_command_lines_match_and_only_h2c_gets_the_flags():
    tuning = servers.Tuning()
    ours = servers.BY_NAME["ours-gthread"].argv("/o/python", 8000, tuning, protocol="h2c")
    upstream = servers.BY_NAME["upstream-gthread"].argv("/u/python", 8000, tuning,
                                                        protocol="h2c")
    assert ours[1:] == upstream[1:]
    assert ours[ours.index("--http-protocols") + 1] == "h2,h1"
    assert ours[ours.index("--http2-cleartext") + 1] == "prior-knowledge"
    assert ours[-1] == servers.WSGI_APP
    plain = servers.BY_NAME["ours-gthread"].argv("/o/python", 8000, tuning)
    assert "--http-protocols" not in plain and "--http2-cleartext" not in plain
    hyper = servers.BY_NAME["hypercorn"]
    assert hyper.argv("/h/python", 1, tuning, "h2c") == hyper.argv("/h/python", 1, tuning)


def _record(server, rnd, rps):
    return {"server": server, "scenario": "h2", "round": rnd, "ok": True, "error": None,
            "metrics": {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0, "requests": 9},
            "peak_rss_kib": 20480}


def test_h2_table_has_ratios_load_line_and_skip_notes():
    specs = servers.select(["default"])
    h2 = scenarios.select(["h2"])
    runs = [_record("upstream-gthread", 0, 1000), _record("ours-gthread", 0, 1500),
            {"server": "ours-asgi", "scenario": "h2", "round": 0, "ok": False,
             "error": "failed: h2 check: no HTTP/2 answer to a prior-knowledge request"}]
    summary = report.summarize(h2, specs, runs)
    assert summary["h2"]["ours-gthread"]["ratios"]["vs upstream"] == pytest.approx(1.5)
    config = {"workers": 1, "threads": 4, "wrk_threads": 1, "connections": 50,
              "duration": 4, "warmup": 1, "rounds": 1, "idle_connections": 1000,
              "h2_connections": 8, "h2_streams": 10}
    text = report.markdown(h2, specs, summary, config)
    assert "### h2:" in text and "h2load -t1 -c8 -m10 -D 4" in text
    assert "wrk -t" not in text  # no wrk table in this run
    assert "| ours-gthread | gthread | 1500 |" in text and "1.50x" in text
    assert "| ours-asgi | asgi | failed: h2 check" in text
    assert "- ours-sync: skipped: the sync worker has no HTTP/2" in text
    assert "- pyuwsgi: skipped: uwsgi protocol only, no HTTP" in text
    assert report.skipped(h2, specs)["h2"].keys() == {"upstream-sync", "ours-sync", "pyuwsgi"}


@pytest.fixture
def one_shot_server(request):
    """A listener that answers each connection with `request.param` bytes and closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    reply = request.param
    done = threading.Event()

    def serve():
        deadline = time.monotonic() + 20
        while not done.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if reply:
                        conn.sendall(reply)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    done.set()
    thread.join(timeout=5)
    listener.close()


@pytest.mark.parametrize("one_shot_server", [b"HTTP/1.1 400 Bad Request\r\n\r\n"],
                         indirect=True)
def test_readiness_is_any_reaction_to_the_preface(one_shot_server):
    assert h2load.answers_preface(one_shot_server) is True


def test_readiness_probe_retries_while_nobody_answers():
    # Listening but never accepting: the connect lands in the backlog, recv times out.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        with pytest.raises(OSError):
            h2load.answers_preface(silent.getsockname()[1], timeout=0.2)


@pytest.mark.skipif(not os.access(h2load.H2LOAD, os.X_OK), reason="h2load is not installed")
@pytest.mark.parametrize("one_shot_server", [b"HTTP/1.1 400 Bad Request\r\n\r\n"],
                         indirect=True)
def test_check_fails_with_a_reason_against_a_server_without_http2(one_shot_server):
    problem = h2load.check_answer(f"http://127.0.0.1:{one_shot_server}/", 13)
    assert problem == "h2 check: no HTTP/2 answer to a prior-knowledge request (stream errored)"


def test_an_aborted_h2load_is_an_error_with_its_exit_status():
    # h2load 1.52 can abort (libev assertion) after its progress lines, with no report.
    with pytest.raises(h2load.H2LoadError, match="rc=134"):
        h2load._run(["sh", "-c", "echo 'Stopped all clients'; exit 134"], timeout=10)


def test_progress_line_copes_with_a_run_without_percentiles(capsys):
    import run  # benchmarks/run.py, on sys.path above

    metrics = h2load.metrics(h2load.parse_report(ALL_ERRORED), [])
    run._log_run({"round": 0, "scenario": "h2", "server": "ours-gthread", "ok": True,
                  "metrics": metrics, "peak_rss_kib": None})
    line = capsys.readouterr().err
    assert "p99     n/a ms" in line and "errors 200" in line
