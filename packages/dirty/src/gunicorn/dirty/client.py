"""Client of the dirty arbiter: run dirty-app actions from web workers, blocking or asyncio.

Replies (surface.md section 8): a REQUEST gets one RESPONSE ``{result}`` or ERROR
``{error}``, or for a streamed action CHUNK ``{data}`` messages then END.

asyncio is imported inside the async paths only: sync web workers never pay for it.
"""

import os
import socket
import threading
import time

from gunicorn.dirty.errors import (
    DirtyConnectionError,
    DirtyError,
    DirtyProtocolError,
    DirtyTimeoutError,
)
from gunicorn.dirty.wire import (
    CHUNK,
    END,
    ERROR,
    REQUEST,
    RESPONSE,
    TYPE_NAMES,
    encode_message,
    read_message_async,
    recv_message,
    send_message,
    write_message_async,
)

SOCKET_ENV = "GUNICORN_DIRTY_SOCKET"

_MAX_REQUEST_ID = 2**64 - 1

# The socket is missing or refuses for a moment while the dirty arbiter starts
# (the master forks it just after the first web workers) or restarts after a
# crash (1 s later): connecting retries that long, within the call's timeout.
CONNECT_RETRY_FOR = 3.0
CONNECT_RETRY_EVERY = 0.05
_NOT_LISTENING = (FileNotFoundError, ConnectionRefusedError)


def _retry_until(timeout):
    limit = CONNECT_RETRY_FOR if timeout is None else min(CONNECT_RETRY_FOR, timeout)
    return time.monotonic() + limit


def _request_payload(app_path, action, args, kwargs):
    return {"app_path": app_path, "action": action, "args": list(args), "kwargs": dict(kwargs)}


def _raise_error(message):
    raise DirtyError.from_dict(message.payload.get("error"))


def _unexpected(message, expecting):
    return DirtyProtocolError(
        f"unexpected {TYPE_NAMES.get(message.type, message.type)} message, expected {expecting}"
    )


class _ExecuteReplies:
    """What ``execute()`` returns, fed one reply at a time: the RESPONSE's result, or
    the list of a stream's chunks at its END. ``done`` says when ``result`` is set."""

    def __init__(self):
        self.chunks = []
        self.done = False
        self.result = None

    def feed(self, reply):
        if reply.type == RESPONSE:
            self.done, self.result = True, reply.payload.get("result")
        elif reply.type == ERROR:
            _raise_error(reply)
        elif reply.type == CHUNK:
            self.chunks.append(reply.payload.get("data"))
        elif reply.type == END:
            self.done, self.result = True, self.chunks
        else:
            raise _unexpected(reply, "response, error, chunk or end")


def _effective_timeout(timeout):
    # None or a non-positive value means wait forever (a 0 socket timeout would mean non-blocking).
    if timeout is None or timeout <= 0:
        return None
    return float(timeout)


class _AsyncConnection:
    """One asyncio connection: a reader task hands each reply to the request waiting on its id,
    so concurrent tasks can share the connection and late replies are dropped."""

    def __init__(self, reader, writer):
        import asyncio

        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.waiters = {}
        self.error = None
        self.task = self.loop.create_task(self._read_loop())

    async def _read_loop(self):
        import asyncio

        try:
            while True:
                message = await read_message_async(self.reader)
                queue = self.waiters.get(message.request_id)
                if queue is not None:
                    queue.put_nowait(message)
        except asyncio.CancelledError:
            self._fail(DirtyConnectionError("dirty client connection closed"))
            raise
        except DirtyError as exc:
            self._fail(exc)
        except Exception as exc:  # the transport failed in some other way
            self._fail(DirtyConnectionError(f"dirty socket read failed: {exc}"))

    def _fail(self, exc):
        if self.error is None:
            self.error = exc
        for queue in list(self.waiters.values()):
            queue.put_nowait(exc)

    @property
    def usable(self):
        import asyncio

        if self.error is not None or self.task.done():
            return False
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def register(self, request_id):
        import asyncio

        queue = asyncio.Queue()
        self.waiters[request_id] = queue
        if self.error is not None:
            queue.put_nowait(self.error)
        return queue

    def unregister(self, request_id):
        self.waiters.pop(request_id, None)

    def stop(self, request_id):
        """No longer wait for ``request_id``, and tell the arbiter (END, request_id): it
        drops the call if it still waits for a worker, or stops it if it streams. The
        connection is shared, so closing it is not the way to say so."""
        self.unregister(request_id)
        try:
            self.writer.write(encode_message(END, request_id))
        except Exception:  # the connection is gone: the call ends with it
            pass

    def close(self):
        if not self.task.done():
            self.task.cancel()
        try:
            self.writer.close()
        except Exception:  # the loop it belonged to may be gone already
            pass


class DirtyClient:
    """A connection to the dirty arbiter's unix socket.

    Blocking ``execute`` calls use one socket, guarded by a lock (each ``stream`` opens
    its own for as long as it runs); asyncio calls (``execute_async``, ``stream_async``)
    use their own connection, shared safely by the tasks of one event loop. A broken
    connection raises DirtyConnectionError and is made again on the next call;
    ``timeout`` (seconds, None for none) bounds each wait for a reply and raises
    DirtyTimeoutError.
    """

    def __init__(self, socket_path, timeout=30.0):
        self.socket_path = socket_path
        self.timeout = timeout
        self._sock = None
        self._lock = threading.RLock()
        self._id_lock = threading.Lock()
        self._last_id = 0
        self._aconn = None
        self._aconnect_lock = None
        self._aconnect_loop = None

    def __repr__(self):
        return f"<DirtyClient {self.socket_path!r} timeout={self.timeout!r}>"

    # `with DirtyClient(path) as client:` / `async with ...`, as upstream allows:
    # connected on entry, closed on exit
    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info):
        self.close()

    async def __aenter__(self):
        await self.connect_async()
        return self

    async def __aexit__(self, *exc_info):
        await self.close_async()

    def _next_request_id(self):
        with self._id_lock:
            self._last_id = self._last_id + 1 if self._last_id < _MAX_REQUEST_ID else 1
            return self._last_id

    def _connection_error(self, what, exc):
        return DirtyConnectionError(
            f"{what} dirty arbiter at {self.socket_path}: {exc}", socket_path=self.socket_path
        )

    def _timeout_error(self, what):
        return DirtyTimeoutError(
            f"{what} timed out after {self.timeout} seconds", timeout=self.timeout
        )

    # -- blocking -------------------------------------------------------------

    def connect(self):
        """Open the socket now (calls do it on demand); no-op when already connected."""
        with self._lock:
            if self._sock is None:
                self._sock = self._open_socket()

    def _open_socket(self):
        timeout = _effective_timeout(self.timeout)
        retry_until = _retry_until(timeout)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(self.socket_path)
                return sock
            except TimeoutError:
                sock.close()
                raise self._timeout_error("connecting to the dirty arbiter")
            except _NOT_LISTENING as exc:
                sock.close()
                if time.monotonic() >= retry_until:
                    raise self._connection_error("cannot connect to the", exc)
                time.sleep(CONNECT_RETRY_EVERY)
            except OSError as exc:
                sock.close()
                raise self._connection_error("cannot connect to the", exc)

    def close(self):
        """Close the blocking connection (the next call opens a new one)."""
        with self._lock:
            self._drop(self._sock)

    def _drop(self, sock):
        # Only the connection that failed: a late generator cleanup must not close a newer one.
        if sock is not None and sock is self._sock:
            self._sock = None
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, msg_type, payload):
        """Connect if needed and send; return ``(request_id, sock)``.

        A connection kept from before fails on send when the dirty arbiter has
        restarted meanwhile (same socket path): the request never reached anyone,
        so it is sent once more on a fresh connection.
        """
        reused = self._sock is not None
        self.connect()
        sock = self._sock
        request_id = self._next_request_id()
        try:
            send_message(sock, msg_type, request_id, payload)
        except TimeoutError:
            self._drop(sock)
            raise self._timeout_error("sending to the dirty arbiter")
        except OSError as exc:
            self._drop(sock)
            if reused:
                return self._send(msg_type, payload)
            raise self._connection_error("lost the connection to the", exc)
        return request_id, sock

    def _recv(self, sock, request_id, deadline, what):
        """The next message for ``request_id`` (others are late replies to skip)."""
        try:
            while True:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise DirtyTimeoutError()
                    sock.settimeout(remaining)
                message = recv_message(sock)
                if message.request_id == request_id:
                    return message
        except DirtyTimeoutError:
            self._drop(sock)
            raise self._timeout_error(what)
        except DirtyConnectionError as exc:
            self._drop(sock)
            raise self._connection_error("lost the connection to the", exc.message)
        except DirtyError:
            self._drop(sock)
            raise

    def _deadline(self):
        timeout = _effective_timeout(self.timeout)
        return None if timeout is None else time.monotonic() + timeout

    def request(self, msg_type, payload=None):
        """Send one message and return the payload of its RESPONSE (an ERROR raises).

        Used for STASH, STATUS and MANAGE messages.
        """
        with self._lock:
            request_id, sock = self._send(msg_type, payload)
            reply = self._recv(sock, request_id, self._deadline(), "dirty arbiter request")
        if reply.type == RESPONSE:
            return reply.payload
        if reply.type == ERROR:
            _raise_error(reply)
        raise _unexpected(reply, "response or error")

    def execute(self, app_path, action, *args, **kwargs):
        """Run ``action`` of the dirty app ``app_path`` and return its result.

        A streamed reply (CHUNK ... END) is returned as the list of its chunks.
        """
        what = f"dirty action {app_path} {action}"
        with self._lock:
            request_id, sock = self._send(REQUEST, _request_payload(app_path, action, args, kwargs))
            deadline = self._deadline()
            replies = _ExecuteReplies()
            while not replies.done:
                reply = self._recv(sock, request_id, deadline, what)
                try:
                    replies.feed(reply)
                except DirtyProtocolError:
                    if reply.type != ERROR:   # nonsense on this connection: drop it
                        self._drop(sock)
                    raise
            return replies.result

    def stream(self, app_path, action, *args, **kwargs):
        """Iterate over the chunks ``action`` yields; the timeout bounds the wait for each.

        A plain RESPONSE is yielded as one item. The stream has a connection of its
        own, closed when it ends or is left early (the worker then stops it).
        """
        payload = _request_payload(app_path, action, args, kwargs)
        return self._stream(payload, f"dirty stream {app_path} {action}")

    def _stream(self, payload, what):
        # A connection of its own: calls made while iterating (same thread or
        # not) use the client's socket and cannot read this stream's chunks.
        sock = self._open_socket()
        try:
            request_id = self._next_request_id()
            try:
                send_message(sock, REQUEST, request_id, payload)
            except TimeoutError:
                raise self._timeout_error("sending to the dirty arbiter")
            except OSError as exc:
                raise self._connection_error("lost the connection to the", exc)
            while True:
                reply = self._recv(sock, request_id, self._deadline(), what)
                if reply.type == CHUNK:
                    yield reply.payload.get("data")
                elif reply.type == END:
                    return
                elif reply.type == RESPONSE:
                    yield reply.payload.get("result")
                    return
                elif reply.type == ERROR:
                    _raise_error(reply)
                else:
                    raise _unexpected(reply, "chunk, end, response or error")
        finally:
            # done, or left early: closing tells the arbiter to stop the stream
            sock.close()

    # -- asyncio --------------------------------------------------------------

    async def connect_async(self):
        """Open the asyncio connection now; no-op when one is open in this event loop."""
        import asyncio

        if self._aconn is not None and self._aconn.usable:
            return
        # Tasks starting together must share one connection, not open one each.
        loop = asyncio.get_running_loop()
        if self._aconnect_lock is None or self._aconnect_loop is not loop:
            self._aconnect_lock = asyncio.Lock()
            self._aconnect_loop = loop
        async with self._aconnect_lock:
            if self._aconn is not None and self._aconn.usable:
                return
            self._discard_async()
            timeout = _effective_timeout(self.timeout)
            retry_until = _retry_until(timeout)
            while True:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_unix_connection(self.socket_path), timeout
                    )
                    break
                except asyncio.TimeoutError:
                    raise self._timeout_error("connecting to the dirty arbiter")
                except _NOT_LISTENING as exc:
                    if time.monotonic() >= retry_until:
                        raise self._connection_error("cannot connect to the", exc)
                    await asyncio.sleep(CONNECT_RETRY_EVERY)
                except OSError as exc:
                    raise self._connection_error("cannot connect to the", exc)
            self._aconn = _AsyncConnection(reader, writer)

    def _discard_async(self):
        if self._aconn is not None:
            self._aconn.close()
            self._aconn = None

    async def close_async(self):
        """Close the asyncio connection."""
        conn, self._aconn = self._aconn, None
        if conn is None:
            return
        conn.close()
        if conn.loop is _running_loop():
            try:
                await conn.writer.wait_closed()
            except Exception:  # already broken: nothing more to release
                pass
            try:
                await conn.task
            except BaseException:  # the cancelled reader task
                pass

    async def _start_async(self, msg_type, payload):
        """Connect if needed, register for the reply and send; ``(conn, request_id, queue)``."""
        await self.connect_async()
        conn = self._aconn
        request_id = self._next_request_id()
        queue = conn.register(request_id)
        try:
            await write_message_async(conn.writer, msg_type, request_id, payload)
        except OSError as exc:
            conn.unregister(request_id)
            self._drop_async(conn)
            raise self._connection_error("lost the connection to the", exc)
        except BaseException:
            conn.unregister(request_id)
            raise
        return conn, request_id, queue

    def _drop_async(self, conn):
        if conn is self._aconn:
            self._aconn = None
        conn.close()

    async def _next_async(self, conn, queue, what):
        import asyncio

        try:
            item = await asyncio.wait_for(queue.get(), _effective_timeout(self.timeout))
        except asyncio.TimeoutError:
            # The connection stays: the reader task drops the late reply by its id.
            raise self._timeout_error(what)
        if isinstance(item, BaseException):
            self._drop_async(conn)
            if isinstance(item, DirtyConnectionError):
                raise self._connection_error("lost the connection to the", item.message)
            raise item
        return item

    async def execute_async(self, app_path, action, *args, **kwargs):
        """asyncio ``execute()``."""
        what = f"dirty action {app_path} {action}"
        payload = _request_payload(app_path, action, args, kwargs)
        conn, request_id, queue = await self._start_async(REQUEST, payload)
        replies = _ExecuteReplies()
        try:
            while not replies.done:
                try:
                    reply = await self._next_async(conn, queue, what)
                except BaseException:   # a timeout, or the task was cancelled
                    conn.stop(request_id)
                    raise
                replies.feed(reply)
            return replies.result
        finally:
            conn.unregister(request_id)

    def stream_async(self, app_path, action, *args, **kwargs):
        """asyncio ``stream()``: an async iterator over the chunks (``async for``)."""
        payload = _request_payload(app_path, action, args, kwargs)
        return DirtyAsyncStream(self, payload, f"dirty stream {app_path} {action}")


class DirtyAsyncStream:
    """Async iterator over one streamed action; the request is sent on the first step."""

    def __init__(self, client, payload, what):
        self._client = client
        self._payload = payload
        self._what = what
        self._conn = None
        self._request_id = None
        self._queue = None
        self._done = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._done:
            raise StopAsyncIteration
        if self._conn is None:
            try:
                self._conn, self._request_id, self._queue = await self._client._start_async(
                    REQUEST, self._payload
                )
            except BaseException:
                self._done = True
                raise
        try:
            reply = await self._client._next_async(self._conn, self._queue, self._what)
        except BaseException:   # a timeout, or the task was cancelled
            self._finish(stop_stream=True)
            raise
        if reply.type == CHUNK:
            return reply.payload.get("data")
        self._finish()
        if reply.type == END:
            raise StopAsyncIteration
        if reply.type == RESPONSE:
            # A plain result is the stream's only item; the next step ends it.
            return reply.payload.get("result")
        if reply.type == ERROR:
            _raise_error(reply)
        raise _unexpected(reply, "chunk, end, response or error")

    def _finish(self, stop_stream=False):
        if self._done:
            return
        self._done = True
        if self._conn is None:
            return
        if stop_stream:
            self._conn.stop(self._request_id)
        else:
            self._conn.unregister(self._request_id)

    async def aclose(self):
        """Stop the stream: the worker stops producing; chunks on the way are dropped."""
        self._finish(stop_stream=True)

    def __del__(self):
        # `break` out of `async for` never calls aclose(): a stream dropped
        # unfinished is stopped here, or its chunks would keep coming over the
        # shared connection into a queue nobody reads
        if self._done or self._conn is None:
            return
        loop = self._conn.loop
        if loop.is_closed():
            return
        if _running_loop() is loop:
            self._finish(stop_stream=True)
        else:   # collected in another thread: the transport belongs to its loop
            self._done = True
            try:
                loop.call_soon_threadsafe(self._conn.stop, self._request_id)
            except RuntimeError:   # the loop closed meanwhile
                pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()


def _running_loop():
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# -- one client per thread ---------------------------------------------------

_socket_path = None
_local = threading.local()


def set_dirty_socket_path(path):
    """Use ``path`` instead of ``$GUNICORN_DIRTY_SOCKET`` (None: back to the environment)."""
    global _socket_path
    _socket_path = path


def get_dirty_socket_path():
    """The dirty arbiter's socket path; DirtyConnectionError when there is none."""
    path = _socket_path or os.environ.get(SOCKET_ENV)
    if not path:
        raise DirtyConnectionError(
            "Dirty socket path not configured: the dirty arbiter runs only when the "
            f"dirty_workers setting is > 0 and dirty_apps is set (it exports {SOCKET_ENV} "
            "to the workers); outside gunicorn call set_dirty_socket_path()"
        )
    return path


def _thread_client(attr, timeout):
    path = get_dirty_socket_path()
    client = getattr(_local, attr, None)
    if client is None or client.socket_path != path:
        client = DirtyClient(path, timeout=timeout)
        setattr(_local, attr, client)
    else:
        client.timeout = timeout
    return client


def get_dirty_client(timeout=30.0):
    """This thread's blocking DirtyClient (made on first use)."""
    old = getattr(_local, "client", None)
    client = _thread_client("client", timeout)
    if old is not None and old is not client:
        old.close()
    return client


async def get_dirty_client_async(timeout=30.0):
    """This thread's DirtyClient for asyncio calls (its tasks may share it)."""
    old = getattr(_local, "async_client", None)
    client = _thread_client("async_client", timeout)
    if old is not None and old is not client:
        await old.close_async()
    return client


def close_dirty_client():
    """Close and forget this thread's blocking client."""
    client = getattr(_local, "client", None)
    _local.client = None
    if client is not None:
        client.close()


async def close_dirty_client_async():
    """Close and forget this thread's asyncio client."""
    client = getattr(_local, "async_client", None)
    _local.async_client = None
    if client is not None:
        await client.close_async()


def _forget_clients_after_fork():
    # A forked child must not share the parent's sockets: it opens its own on first use.
    global _local
    old = _local
    _local = threading.local()
    client = getattr(old, "client", None)
    if client is not None and client._sock is not None:
        # Closing the child's copy of the fd leaves the parent's connection open.
        client._sock.close()
        client._sock = None
    async_client = getattr(old, "async_client", None)
    if async_client is not None:
        async_client._aconn = None


os.register_at_fork(after_in_child=_forget_clients_after_fork)
