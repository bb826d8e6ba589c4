"""Calls through the dirty arbiter, end to end: a web worker's client, the arbiter, a dirty worker."""

import httpx
import pytest
from dirty_server_support import (
    ECHO,
    LIMITED,
    SINGLE,
    booted_workers,
    call,
    dirty_server,
)
from gunicorn_testsupport import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = dirty_server(tmp_path_factory.mktemp("calls"), web_workers=2,
                          apps=(ECHO, SINGLE, f"{LIMITED}:1"))
    with server:
        booted_workers(server, 2)
        yield server


def test_execute_returns_the_result(srv):
    value = [1, "two", {"three": 3.5, "none": None, "flag": True}]
    assert call(srv, ECHO, "echo", value)["result"] == value


def test_stream_relays_every_chunk_in_order(srv):
    reply = call(srv, ECHO, "count", 5, path="/stream")
    assert [item["i"] for item in reply["items"]] == [0, 1, 2, 3, 4]
    # one worker produced the whole stream
    assert len({item["pid"] for item in reply["items"]}) == 1


def test_coroutine_and_async_generator_actions(srv):
    assert call(srv, ECHO, "async_echo", {"a": [1]})["result"] == {"a": [1]}
    assert call(srv, ECHO, "async_count", 3, path="/stream")["items"] == [0, 1, 2]


def test_app_exception_is_a_dirty_app_error(srv):
    reply = call(srv, ECHO, "fail", "boom")
    assert reply["error_type"] == "DirtyAppError"
    assert reply["message"] == "boom"      # the exception's text, as upstream sends it


def test_unknown_action_is_an_app_error(srv):
    reply = call(srv, ECHO, "_private")
    assert reply["app_error"], reply
    assert "Unknown action" in reply["message"]


def test_unknown_app_is_app_not_found_and_no_workers_available(srv):
    reply = call(srv, "dirty_test_apps:Missing", "echo", 1)
    # caught as DirtyAppNotFoundError, and as upstream's DirtyNoWorkersAvailableError
    assert reply["error_type"] == "DirtyAppNotConfiguredError", reply
    assert reply["app_error"] and reply["no_workers"], reply


def test_calls_reach_both_workers(srv):
    status = booted_workers(srv, 2)
    pids = {w["pid"] for w in status["workers"]}
    # a free worker is picked first, so sequential calls spread over the pool
    seen = {call(srv, ECHO, "whoami")["result"] for _ in range(8)}
    assert seen <= pids
    assert len(seen) == 2


@pytest.mark.parametrize("app", [SINGLE, LIMITED])
def test_app_with_a_worker_limit_loads_on_one_worker(srv, app):
    status = booted_workers(srv, 2)
    holders = [w["pid"] for w in status["workers"] if app in w["apps"]]
    assert len(holders) == 1, status
    entry = next(a for a in status["apps"] if a["import_path"] == app)
    assert entry["worker_count"] == 1 and entry["worker_pids"] == holders
    assert {call(srv, app, "whoami")["result"] for _ in range(5)} == set(holders)
    # the unlimited app is on both
    assert all(ECHO in w["apps"] for w in status["workers"])


def test_stash_is_shared_by_every_web_worker(srv):
    writer = stash(srv, "put", "sessions", "k1", {"user": 7})
    assert writer.get("result") is None and "error_type" not in writer, writer
    # read it back from the other web worker (new connections until one answers)
    for _ in range(40):
        reply = stash(srv, "get", "sessions", "k1")
        assert reply["result"] == {"user": 7}, reply
        if reply["web_pid"] != writer["web_pid"]:
            break
    else:
        pytest.fail("never reached the second web worker")
    assert stash(srv, "keys", "sessions")["result"] == ["k1"]
    assert stash(srv, "delete", "sessions", "k1")["result"] is True
    assert stash(srv, "exists", "sessions", "k1")["result"] is False


def stash(srv, op, *args):
    resp = httpx.post(srv.url("/stash"), json={"op": op, "args": list(args)},
                      headers={"Connection": "close"}, timeout=20)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_result_that_cannot_be_encoded_is_an_app_error(srv):
    # upstream: any exception while running or answering an action reaches the
    # caller as a DirtyAppError (naming the app and action), not a DirtyProtocolError
    reply = call(srv, ECHO, "unencodable")
    assert reply["error_type"] == "DirtyAppError", reply
    assert "set" in reply["message"]
    assert {"app_path", "action", "traceback"} <= set(reply["details"]), reply
    reply = call(srv, ECHO, "unencodable_stream", path="/stream")
    assert reply["error_type"] == "DirtyAppError", reply


def test_a_dirty_error_raised_inside_an_action_is_an_app_error(srv):
    # a stash miss inside the action: the caller sees which action failed
    reply = call(srv, ECHO, "missing_stash_key")
    assert reply["error_type"] == "DirtyAppError", reply
    assert "nokey" in reply["message"]


def test_unknown_action_names_the_app(srv):
    reply = call(srv, ECHO, "no_such_action")
    assert reply["app_error"], reply
    assert {"app_path", "action"} <= set(reply["details"]), reply


def test_app_errors_are_logged_with_their_traceback(srv):
    call(srv, ECHO, "fail", "logged-boom")
    wait_for(lambda: "Error executing dirty_test_apps:Echo.fail: logged-boom" in srv.log,
             10, message=srv.log)
    assert "ValueError: logged-boom" in srv.log
    call(srv, ECHO, "no_such_action")
    line = "Error executing dirty_test_apps:Echo.no_such_action: Unknown action: no_such_action\n"
    wait_for(lambda: line in srv.log, 10, message=srv.log)


def test_stash_tables_an_app_declares_exist_from_the_start(tmp_path):
    # upstream's docs: `stashes = [...]` on a DirtyApp, "auto-created on startup"
    with dirty_server(tmp_path, workers=1, apps=(ECHO, "dirty_test_apps:WithStashes")) as srv:
        booted_workers(srv, 1)
        tables = stash(srv, "tables")["result"]
        assert tables == ["dirty-test-sessions", "dirty-test-counters"], tables
        info = stash(srv, "info", "dirty-test-counters")
        assert info["result"] == {"table": "dirty-test-counters", "size": 0}, info


def test_a_call_made_while_the_arbiter_imports_its_apps_waits(tmp_path):
    # the arbiter listens before it imports the apps' modules: a web worker's
    # first call connects and waits for a worker instead of failing to connect
    with dirty_server(tmp_path, workers=1, apps=("dirty_test_slow_import:SlowImport",)) as srv:
        reply = call(srv, "dirty_test_slow_import:SlowImport", "echo", "early")
        assert reply.get("result") == "early", reply
