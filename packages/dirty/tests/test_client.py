"""DirtyClient against a fake arbiter thread: execute, stream, errors, timeouts, lost sockets."""

import asyncio
import os
import shutil
import threading
import time

import pytest
from dirty_fake_server import CloseConnection, FakeArbiter, echo_handler, short_socket_dir

from gunicorn.dirty import client as client_mod
from gunicorn.dirty import wire
from gunicorn.dirty.client import (
    DirtyClient,
    close_dirty_client,
    close_dirty_client_async,
    get_dirty_client,
    get_dirty_client_async,
    set_dirty_socket_path,
)
from gunicorn.dirty.errors import (
    DirtyAppError,
    DirtyAppNotFoundError,
    DirtyConnectionError,
    DirtyError,
    DirtyTimeoutError,
    StashKeyNotFoundError,
)

APP = "myapp:Models"


@pytest.fixture(autouse=True)
def _short_connect_retry(monkeypatch):
    # tests of a missing socket need not wait the full start-up allowance
    monkeypatch.setattr(client_mod, "CONNECT_RETRY_FOR", 0.2)


@pytest.fixture
def sock_path():
    directory = short_socket_dir()
    yield os.path.join(directory, "d.sock")
    shutil.rmtree(directory, ignore_errors=True)


def streaming_handler(msg, reply):
    """``count`` chunks, then END; action "fail" sends an ERROR after one chunk."""
    count = msg.payload["args"][0]
    for i in range(count):
        reply(wire.CHUNK, {"data": f"item{i}"})
    if msg.payload["action"] == "fail":
        reply(wire.ERROR, {"error": DirtyAppError("midway", app_path=APP).to_dict()})
    else:
        reply(wire.END)


def silent_handler(msg, reply):
    pass


def hangup_handler(msg, reply):
    raise CloseConnection()


# -- blocking -----------------------------------------------------------------


def test_execute_sends_the_request_and_returns_the_result(sock_path):
    with FakeArbiter(sock_path, echo_handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        assert client.execute(APP, "predict", 1, "two", flag=True) == ["predict", [1, "two"], {"flag": True}]
        client.close()
    msg = server.received[0]
    assert msg.type == wire.REQUEST
    assert msg.payload == {"app_path": APP, "action": "predict", "args": [1, "two"], "kwargs": {"flag": True}}


def test_request_ids_increment_on_one_connection(sock_path):
    with FakeArbiter(sock_path, echo_handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        for _ in range(3):
            client.execute(APP, "x")
        client.close()
    assert [m.request_id for m in server.received] == [1, 2, 3]
    assert server.connections == 1


def test_connect_is_explicit_and_idempotent(sock_path):
    with FakeArbiter(sock_path, echo_handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        client.connect()
        client.connect()
        client.execute(APP, "x")
        client.close()
    assert server.connections == 1


def test_error_reply_raises_the_named_class(sock_path):
    def handler(msg, reply):
        reply(wire.ERROR, {"error": DirtyAppNotFoundError(msg.payload["app_path"]).to_dict()})

    with FakeArbiter(sock_path, handler):
        client = DirtyClient(sock_path, timeout=5)
        with pytest.raises(DirtyAppNotFoundError) as info:
            client.execute("nope:App", "x")
        assert info.value.app_path == "nope:App"
        # The connection survives an error reply.
        with pytest.raises(DirtyAppNotFoundError):
            client.execute("nope:App", "x")
        client.close()


def test_stream_yields_chunks_until_end(sock_path):
    with FakeArbiter(sock_path, streaming_handler):
        client = DirtyClient(sock_path, timeout=5)
        assert list(client.stream(APP, "gen", 3)) == ["item0", "item1", "item2"]
        assert list(client.stream(APP, "gen", 0)) == []
        client.close()


def test_stream_error_midway(sock_path):
    with FakeArbiter(sock_path, streaming_handler):
        client = DirtyClient(sock_path, timeout=5)
        got = []
        with pytest.raises(DirtyAppError, match="midway"):
            for item in client.stream(APP, "fail", 1):
                got.append(item)
        assert got == ["item0"]
        client.close()


def test_execute_on_a_streamed_reply_collects_the_chunks(sock_path):
    with FakeArbiter(sock_path, streaming_handler):
        client = DirtyClient(sock_path, timeout=5)
        assert client.execute(APP, "gen", 2) == ["item0", "item1"]
        client.close()


def test_stream_of_a_plain_response_yields_it_once(sock_path):
    with FakeArbiter(sock_path, echo_handler):
        client = DirtyClient(sock_path, timeout=5)
        assert list(client.stream(APP, "x")) == [["x", [], {}]]
        client.close()


def test_abandoned_stream_drops_the_connection(sock_path):
    def handler(msg, reply):
        if msg.payload["action"] == "gen":
            streaming_handler(msg, reply)
        else:
            echo_handler(msg, reply)

    with FakeArbiter(sock_path, handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        stream = client.stream(APP, "gen", 50)
        assert next(stream) == "item0"
        stream.close()
        assert client.execute(APP, "after") == ["after", [], {}]
        client.close()
    assert server.connections == 2


def test_calls_made_while_iterating_a_stream_leave_its_chunks_alone(sock_path):
    def handler(msg, reply):
        if msg.payload["action"] == "gen":
            streaming_handler(msg, reply)     # every chunk at once, before any read
        else:
            echo_handler(msg, reply)

    with FakeArbiter(sock_path, handler):
        client = DirtyClient(sock_path, timeout=2)
        got = [(item, client.execute(APP, "inner")) for item in client.stream(APP, "gen", 3)]
        assert got == [(f"item{i}", ["inner", [], {}]) for i in range(3)]
        client.close()


def test_late_replies_with_other_ids_are_skipped(sock_path):
    def handler(msg, reply):
        reply(wire.RESPONSE, {"result": "stale"}, request_id=msg.request_id + 1000)
        reply(wire.RESPONSE, {"result": "fresh"})

    with FakeArbiter(sock_path, handler):
        client = DirtyClient(sock_path, timeout=5)
        assert client.execute(APP, "x") == "fresh"
        client.close()


def test_timeout_raises_and_next_call_reconnects(sock_path):
    calls = []

    def handler(msg, reply):
        calls.append(msg)
        if msg.payload["action"] != "slow":
            echo_handler(msg, reply)

    with FakeArbiter(sock_path, handler) as server:
        client = DirtyClient(sock_path, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(DirtyTimeoutError) as info:
            client.execute(APP, "slow")
        assert 0.15 < time.monotonic() - started < 2
        assert info.value.timeout == 0.2
        assert client.execute(APP, "fast") == ["fast", [], {}]
        client.close()
    assert server.connections == 2


def test_stream_timeout_is_per_chunk(sock_path):
    def handler(msg, reply):
        reply(wire.CHUNK, {"data": 1})

    with FakeArbiter(sock_path, handler):
        client = DirtyClient(sock_path, timeout=0.2)
        stream = client.stream(APP, "gen")
        assert next(stream) == 1
        with pytest.raises(DirtyTimeoutError):
            next(stream)
        client.close()


def test_server_hangs_up(sock_path):
    with FakeArbiter(sock_path, hangup_handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        with pytest.raises(DirtyConnectionError) as info:
            client.execute(APP, "x")
        assert info.value.socket_path == sock_path
        server.handler = echo_handler
        assert client.execute(APP, "y") == ["y", [], {}]
        client.close()
    assert server.connections == 2


def test_server_gone_then_back(sock_path):
    client = DirtyClient(sock_path, timeout=5)
    with FakeArbiter(sock_path, echo_handler):
        assert client.execute(APP, "x") == ["x", [], {}]
    with pytest.raises(DirtyConnectionError):
        client.execute(APP, "x")
    with pytest.raises(DirtyConnectionError, match="cannot connect"):
        client.execute(APP, "x")
    with FakeArbiter(sock_path, echo_handler):
        assert client.execute(APP, "again") == ["again", [], {}]
    client.close()


def test_connection_from_before_an_arbiter_restart_is_replaced(sock_path):
    client = DirtyClient(sock_path, timeout=5)
    with FakeArbiter(sock_path, echo_handler):
        assert client.execute(APP, "x") == ["x", [], {}]
    # the dirty arbiter restarted (same path) while this client sat idle: the
    # stale connection fails on send, and the request goes out on a fresh one
    with FakeArbiter(sock_path, echo_handler) as server:
        assert client.execute(APP, "after restart") == ["after restart", [], {}]
        assert server.connections == 1
    client.close()


def test_no_socket_at_all(sock_path):
    with pytest.raises(DirtyConnectionError, match="cannot connect"):
        DirtyClient(sock_path).execute(APP, "x")


def test_unsupported_argument_is_a_protocol_error_and_keeps_the_connection(sock_path):
    with FakeArbiter(sock_path, echo_handler) as server:
        client = DirtyClient(sock_path, timeout=5)
        with pytest.raises(DirtyError, match="cannot encode"):
            client.execute(APP, "x", object())
        assert client.execute(APP, "y") == ["y", [], {}]
        client.close()
    assert server.connections == 1


def test_request_returns_the_response_payload(sock_path):
    def handler(msg, reply):
        if msg.type == wire.STATUS:
            reply(wire.RESPONSE, {"result": {"workers": []}})
        else:
            reply(wire.ERROR, {"error": StashKeyNotFoundError("t", "k").to_dict()})

    with FakeArbiter(sock_path, handler):
        client = DirtyClient(sock_path, timeout=5)
        assert client.request(wire.STATUS) == {"result": {"workers": []}}
        with pytest.raises(StashKeyNotFoundError):
            client.request(wire.STASH, {"op": wire.STASH_GET, "table": "t", "key": "k"})
        client.close()


def test_threads_share_one_client_safely(sock_path):
    with FakeArbiter(sock_path, echo_handler):
        client = DirtyClient(sock_path, timeout=5)
        results = {}

        def work(n):
            results[n] = [client.execute(APP, "x", n, i) for i in range(20)]

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        client.close()
    for n in range(4):
        assert results[n] == [["x", [n, i], {}] for i in range(20)]


# -- asyncio ------------------------------------------------------------------


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_async_execute_and_stream(sock_path):
    def handler(msg, reply):
        if msg.payload["action"] == "gen":
            streaming_handler(msg, reply)
        else:
            echo_handler(msg, reply)

    async def main(client):
        await client.connect_async()
        first = await client.execute_async(APP, "x", 1, k="v")
        chunks = [item async for item in client.stream_async(APP, "gen", 3)]
        collected = await client.execute_async(APP, "gen", 2)
        await client.close_async()
        return first, chunks, collected

    with FakeArbiter(sock_path, handler) as server:
        result = run(main(DirtyClient(sock_path, timeout=5)))
    assert result == (["x", [1], {"k": "v"}], ["item0", "item1", "item2"], ["item0", "item1"])
    assert [m.request_id for m in server.received] == [1, 2, 3]


def test_async_error_and_stream_error(sock_path):
    def handler(msg, reply):
        if msg.payload["action"] == "fail":
            streaming_handler(msg, reply)
        else:
            reply(wire.ERROR, {"error": DirtyAppError("bad", action="x").to_dict()})

    async def main(client):
        with pytest.raises(DirtyAppError, match="bad"):
            await client.execute_async(APP, "x")
        got = []
        with pytest.raises(DirtyAppError, match="midway"):
            async for item in client.stream_async(APP, "fail", 2):
                got.append(item)
        await client.close_async()
        return got

    with FakeArbiter(sock_path, handler):
        assert run(main(DirtyClient(sock_path, timeout=5))) == ["item0", "item1"]


def test_async_concurrent_requests_get_their_own_replies(sock_path):
    held = []

    def handler(msg, reply):
        # Answer in reverse order once all three have arrived.
        held.append((msg, reply))
        if len(held) == 3:
            for m, r in reversed(held):
                r(wire.RESPONSE, {"result": m.payload["args"][0]})

    async def main(client):
        results = await asyncio.gather(*(client.execute_async(APP, "x", n) for n in range(3)))
        await client.close_async()
        return results

    with FakeArbiter(sock_path, handler) as server:
        assert run(main(DirtyClient(sock_path, timeout=5))) == [0, 1, 2]
    assert server.connections == 1


def test_async_timeout_keeps_the_connection_and_drops_the_late_reply(sock_path):
    pending = []

    def handler(msg, reply):
        if msg.type == wire.END:
            return      # "stop that request": no reply
        if msg.payload["action"] == "slow":
            pending.append(reply)
        else:
            for late in pending:
                late(wire.RESPONSE, {"result": "late"})
            echo_handler(msg, reply)

    async def main(client):
        with pytest.raises(DirtyTimeoutError):
            await client.execute_async(APP, "slow")
        result = await client.execute_async(APP, "fast")
        await client.close_async()
        return result

    with FakeArbiter(sock_path, handler) as server:
        assert run(main(DirtyClient(sock_path, timeout=0.2))) == ["fast", [], {}]
    assert server.connections == 1
    # the timed-out request was called off on the shared connection
    slow, stop = server.received[:2]
    assert (stop.type, stop.request_id) == (wire.END, slow.request_id)


def test_async_server_hangs_up_then_reconnects(sock_path):
    async def main(client, server):
        with pytest.raises(DirtyConnectionError):
            await client.execute_async(APP, "x")
        server.handler = echo_handler
        result = await client.execute_async(APP, "y")
        await client.close_async()
        return result

    with FakeArbiter(sock_path, hangup_handler) as server:
        assert run(main(DirtyClient(sock_path, timeout=5), server)) == ["y", [], {}]
    assert server.connections == 2


def test_async_no_socket(sock_path):
    async def main():
        with pytest.raises(DirtyConnectionError, match="cannot connect"):
            await DirtyClient(sock_path).execute_async(APP, "x")

    run(main())


def test_async_abandoned_stream_does_not_disturb_later_calls(sock_path):
    def handler(msg, reply):
        if msg.type == wire.END:
            return      # the client's "stop this stream": no reply
        if msg.payload["action"] == "gen":
            streaming_handler(msg, reply)
        else:
            echo_handler(msg, reply)

    async def main(client):
        stream = client.stream_async(APP, "gen", 20)
        assert await stream.__anext__() == "item0"
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        result = await client.execute_async(APP, "after")
        await client.close_async()
        return result

    with FakeArbiter(sock_path, handler) as server:
        assert run(main(DirtyClient(sock_path, timeout=5))) == ["after", [], {}]
    # aclose() told the arbiter, on the shared connection, to stop that stream
    request, stop = server.received[:2]
    assert (stop.type, stop.request_id) == (wire.END, request.request_id)


def test_async_client_survives_a_new_event_loop(sock_path):
    client = DirtyClient(sock_path, timeout=5)
    with FakeArbiter(sock_path, echo_handler) as server:
        assert run(client.execute_async(APP, "one")) == ["one", [], {}]
        assert run(client.execute_async(APP, "two")) == ["two", [], {}]
        run(client.close_async())
    assert server.connections == 2


# -- one client per thread ----------------------------------------------------


@pytest.fixture
def clean_globals(monkeypatch):
    monkeypatch.delenv(client_mod.SOCKET_ENV, raising=False)
    set_dirty_socket_path(None)
    close_dirty_client()
    yield monkeypatch
    close_dirty_client()
    set_dirty_socket_path(None)


def test_no_socket_path_configured(clean_globals):
    with pytest.raises(DirtyConnectionError, match="dirty_workers.*dirty_apps"):
        get_dirty_client()
    with pytest.raises(DirtyConnectionError, match="dirty_workers"):
        run(get_dirty_client_async())


def test_socket_path_from_env_and_override(clean_globals, sock_path):
    clean_globals.setenv(client_mod.SOCKET_ENV, "/env/path.sock")
    assert get_dirty_client().socket_path == "/env/path.sock"
    set_dirty_socket_path(sock_path)
    client = get_dirty_client(timeout=3)
    assert client.socket_path == sock_path and client.timeout == 3


def test_one_client_per_thread(clean_globals, sock_path):
    set_dirty_socket_path(sock_path)
    mine = get_dirty_client()
    assert get_dirty_client() is mine
    other = []
    thread = threading.Thread(target=lambda: other.append(get_dirty_client()))
    thread.start()
    thread.join(5)
    assert other[0] is not mine
    close_dirty_client()
    assert get_dirty_client() is not mine


def test_thread_client_talks_to_the_arbiter(clean_globals, sock_path):
    set_dirty_socket_path(sock_path)
    with FakeArbiter(sock_path, echo_handler):
        assert get_dirty_client().execute(APP, "x") == ["x", [], {}]

        async def main():
            client = await get_dirty_client_async(timeout=5)
            assert client is await get_dirty_client_async()
            result = await client.execute_async(APP, "y")
            await close_dirty_client_async()
            return result

        assert run(main()) == ["y", [], {}]
        close_dirty_client()


def test_fork_child_does_not_share_the_parents_socket(clean_globals, sock_path):
    set_dirty_socket_path(sock_path)
    with FakeArbiter(sock_path, echo_handler) as server:
        parent = get_dirty_client()
        parent.execute(APP, "x")
        pid = os.fork()
        if pid == 0:  # child: a fresh client and connection
            code = 1
            try:
                child = get_dirty_client()
                if child is not parent and child.execute(APP, "child") == ["child", [], {}]:
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent.execute(APP, "parent") == ["parent", [], {}]
    assert server.connections == 2


def test_async_stream_left_by_break_is_stopped(sock_path):
    # `break` out of `async for` does not call aclose(): dropping the iterator
    # must still tell the arbiter, or an endless stream keeps flowing into this
    # shared connection for as long as the client lives
    def handler(msg, reply):
        if msg.type == wire.END:
            return
        if msg.payload["action"] == "gen":
            streaming_handler(msg, reply)
        else:
            echo_handler(msg, reply)

    async def main(client):
        got = []
        async for item in client.stream_async(APP, "gen", 20):
            got.append(item)
            break
        await asyncio.sleep(0.1)    # the END goes out on the shared connection
        result = await client.execute_async(APP, "after")
        await client.close_async()
        return got, result

    with FakeArbiter(sock_path, handler) as server:
        got, _ = run(main(DirtyClient(sock_path, timeout=5)))
    assert got == ["item0"]
    request, stop = server.received[:2]
    assert (stop.type, stop.request_id) == (wire.END, request.request_id)


def test_client_is_a_context_manager(sock_path):
    # upstream's DirtyClient works in `with` and `async with`: connect, then close
    async def main():
        async with DirtyClient(sock_path, timeout=5) as client:
            assert client._aconn is not None     # connected on entry
            result = await client.execute_async(APP, "a")
        assert client._aconn is None
        return result

    with FakeArbiter(sock_path, echo_handler) as server:
        with DirtyClient(sock_path, timeout=5) as client:
            assert client._sock is not None
            assert client.execute(APP, "s") == ["s", [], {}]
        assert client._sock is None
        assert run(main()) == ["a", [], {}]
    assert server.connections == 2


def test_connecting_waits_for_an_arbiter_that_is_starting(sock_path, monkeypatch):
    # the master forks the dirty arbiter just after the first web workers, and
    # restarts a dead one 1 s later: a call meanwhile waits for the socket
    monkeypatch.setattr(client_mod, "CONNECT_RETRY_FOR", 3.0)
    server = FakeArbiter(sock_path, echo_handler)
    starter = threading.Timer(0.5, server.__enter__)
    starter.start()
    try:
        started = time.monotonic()
        assert DirtyClient(sock_path, timeout=5).execute(APP, "late") == ["late", [], {}]
        assert time.monotonic() - started >= 0.4

        async def main():
            client = DirtyClient(sock_path, timeout=5)
            try:
                return await client.execute_async(APP, "a")
            finally:
                await client.close_async()

        assert run(main()) == ["a", [], {}]
    finally:
        starter.join()
        server.__exit__(None, None, None)
    # nobody listening at all: the error comes once the retry time is over
    monkeypatch.setattr(client_mod, "CONNECT_RETRY_FOR", 0.3)
    started = time.monotonic()
    with pytest.raises(DirtyConnectionError, match="cannot connect"):
        DirtyClient(sock_path + ".none", timeout=5).execute(APP, "x")
    assert 0.25 <= time.monotonic() - started < 2
