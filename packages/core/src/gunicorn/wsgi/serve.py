"""The blocking request driver shared by the sync, gthread, gevent and eventlet workers.

``serve_connection(worker, sock, listener, addr)`` runs a whole connection.
Workers that schedule connections themselves (gthread keeps idle keep-alive
sockets in a poller) use ``ServedConnection`` directly:
``next_request(timeout)`` -> ``Request`` or None, ``handle(req)`` -> whether the
connection may carry another request, ``close()``.
"""

import errno
import logging
import socket
import ssl
import sys
import threading
import time
from datetime import datetime

from gunicorn.connection_reset import reset_on_close
from gunicorn.http.error_response import log_parse_error, log_tls_failure
from gunicorn.http.errors import NoMoreData, ParseError
from gunicorn.http.events import ConnectionClosed, Request
from gunicorn.settings.server_hooks import PostRequest, PreRequest
from gunicorn.sock import close_after_tls_failure
from gunicorn.wsgi.connection import ClientConnection, is_tls_socket
from gunicorn.wsgi.environ import ConnectionEnviron, EnvironSettings
from gunicorn.wsgi.error_page import reason_for, render_error
from gunicorn.wsgi.input import RequestBody
from gunicorn.wsgi.response import WSGIResponse

# A peer that went away mid-conversation: routine, logged at debug only.
CLIENT_GONE = {
    errno.EPIPE: "Ignoring EPIPE",
    errno.ECONNRESET: "Ignoring connection reset",
    errno.ENOTCONN: "Ignoring socket not connected",
    errno.ESHUTDOWN: "Ignoring socket shutdown",
    errno.ECONNABORTED: "Ignoring connection aborted",
    # A blocking socket whose SO_RCVTIMEO/SO_SNDTIMEO ran out (gthread).
    errno.EAGAIN: "Ignoring socket timeout",
}

# Bounds of the "lingering close" that keeps an unread body from turning the
# close into a TCP reset (which can destroy the response in flight).
LINGER_SECONDS = 0.5
LINGER_BYTES = 1 << 18

# Linux copies TCP_NODELAY from a listening socket to the sockets it accepts:
# set it once on the listener instead of once per connection.
_NODELAY_INHERITED = sys.platform.startswith("linux")
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)

_protocol_classes = {}


def protocol_class(cfg):
    """The protocol class named by ``cfg.protocol`` (entry-point group gunicorn.protocols)."""
    name = getattr(cfg, "protocol", None) or "http"
    cls = _protocol_classes.get(name)
    if cls is None and name == "http":
        # Core's own: no need to scan every distribution's entry points (which
        # costs each worker some 400 KiB of memory) to find it.
        from gunicorn.http.protocol import HTTP1Protocol as cls

        _protocol_classes[name] = cls
    if cls is None:
        from gunicorn import plugins

        try:
            cls = plugins.load_protocol(name)
        except RuntimeError:
            if name != "http":
                raise
            # Core's own protocol, even when the distribution metadata is absent.
            from gunicorn.http.protocol import HTTP1Protocol as cls
        _protocol_classes[name] = cls
    return cls


def sendfile_enabled(cfg):
    value = getattr(cfg, "sendfile", True)
    return True if value is None else bool(value)


def client_gone_message(exc):
    """The debug line for a disconnect error, or None if ``exc`` is a real failure."""
    if isinstance(exc, ssl.SSLEOFError):
        return "ssl connection closed"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "Ignoring socket timeout"
    if isinstance(exc, OSError):
        return CLIENT_GONE.get(exc.errno)
    return None


def request_error_message(req):
    """The error-log line for an app failure: "Error handling request GET /path?query"."""
    uri = getattr(req, "uri", None)
    if not uri:
        return "Error handling request (no URI read)"
    method = getattr(req, "method", None)
    return "Error handling request %s %s" % (method, uri) if method \
        else "Error handling request %s" % (uri,)


def error_reply(exc):
    """``(status_code, reason, message)`` of the error page answering ``exc``."""
    if isinstance(exc, ParseError):
        status = getattr(exc, "status_code", 400)
        reason = getattr(exc, "reason", None) or reason_for(status)
        return status, reason, "" if status >= 500 else str(exc)
    if isinstance(exc, ssl.SSLError):
        return 403, "Forbidden", "SSL error"
    return 500, "Internal Server Error", ""


class ServeSettings:
    """Config-derived facts every connection of a worker shares (read once, not per request)."""

    def __init__(self, worker):
        cfg = self.cfg = worker.cfg
        multithread = getattr(worker, "wsgi_multithread", None)
        self.environ = EnvironSettings(cfg, worker.log, multithread)
        # None stands for a hook that would do nothing: the defaults (pre_request
        # only logs at debug level), skipped rather than called per request.
        self.pre_request = _hook_or_none(cfg.pre_request, PreRequest.default,
                                         not _logs_debug(worker.log))
        self.post_request = _hook_or_none(cfg.post_request, PostRequest.default, True)
        self.sendfile = sendfile_enabled(cfg)
        self._protocol_class = None
        # Pool threads share worker.nr: "nr += 1" could lose counts there.
        self.count_lock = threading.Lock() if multithread else None
        # AsyncWorker.is_already_handled, looked up once (most workers have none).
        self.already_handled = getattr(worker, "is_already_handled", None)
        # listener -> (its address, whether accepted sockets inherit TCP_NODELAY)
        self._listeners = {}

    def listener_facts(self, listener, sock):
        """``(server address, nodelay already inherited)`` for a connection from ``listener``.

        A listener's address never changes, so it is asked for once, not per
        connection; the same first visit sets TCP_NODELAY on the listener
        where accepted sockets inherit it.
        """
        if listener is None:
            try:
                return sock.getsockname(), False
            except OSError:
                return None, False
        key = id(listener)
        facts = self._listeners.get(key)
        if facts is not None and facts[0] is listener:
            return facts[1], facts[2]
        try:
            server = listener.getsockname()
        except OSError:
            return None, False
        inherited = _NODELAY_INHERITED and _no_delay(listener)
        if len(self._listeners) > 64:
            self._listeners.clear()
        self._listeners[key] = (listener, server, inherited)
        # This connection was accepted before the listener had the option.
        return server, False

    def count_request(self, worker):
        """``worker.nr += 1`` under ``count_lock`` (pool threads share the worker); the new count.

        Each count is returned to exactly one caller, so one request alone
        sees the count reach ``max_requests``. (Without pool threads the
        request loop counts inline, without the call.)
        """
        with self.count_lock:
            worker.nr += 1
            return worker.nr

    @property
    def protocol_class(self):
        if self._protocol_class is None:
            self._protocol_class = protocol_class(self.cfg)
        return self._protocol_class


def _hook_or_none(hook, default, default_is_noop):
    return None if hook is default and default_is_noop else hook


def _logs_debug(log):
    """Whether ``log`` (gunicorn's Logger) writes debug lines; True when unknown."""
    error_log = getattr(log, "error_log", None)
    if not isinstance(error_log, logging.Logger):
        return True
    return error_log.isEnabledFor(logging.DEBUG)


def serve_settings(worker):
    """The worker's ``ServeSettings``, built on first use and kept on the worker."""
    settings = getattr(worker, "_wsgi_serve_settings", None)
    if settings is None or settings.cfg is not worker.cfg:
        settings = ServeSettings(worker)
        try:
            worker._wsgi_serve_settings = settings
        except AttributeError:
            pass
    return settings


class _ErrorResponse:
    """What the access log and post_request see when an error page replaced the app."""

    def __init__(self, status_code, reason, body_length, headers=()):
        self.status = "%d %s" % (status_code, reason)
        self.status_code = status_code
        self.headers = list(headers)
        self.sent = body_length
        self.response_length = body_length
        self.headers_sent = True


class ServedConnection:
    """One accepted client, served request by request with the worker's WSGI app."""

    def __init__(self, worker, sock, listener, addr, proto=None, keepalive=False):
        self.worker = worker
        self.cfg = cfg = worker.cfg
        self.log = worker.log
        self.settings = settings = serve_settings(worker)
        self.sock = sock
        self.addr = addr
        server, nodelay = settings.listener_facts(listener, sock)
        self.listener_name = server
        # (A plain socket object is the common case, and is never TLS.)
        is_ssl = type(sock) is not socket.socket and is_tls_socket(sock)
        if not nodelay:
            _no_delay(sock)
        if proto is None:
            proto = settings.protocol_class(cfg, addr, server, is_ssl)
        self.conn = ClientConnection(sock, proto)
        self.environ = ConnectionEnviron(settings.environ, sock, addr, server, is_ssl=is_ssl)
        self.keepalive = keepalive
        self.body = None
        self.closed = False
        # A parse error was answered while the client may still be sending.
        self.error_sent = False
        # A close-delimited response was cut: close with a reset, not a FIN.
        self.response_cut = False

    @property
    def proto(self):
        return self.conn.proto

    # -- reading requests --------------------------------------------------
    def next_request(self, timeout=None):
        """The next request head, or None when the connection should end.

        ``timeout`` bounds the wait for an idle keep-alive connection; parse
        errors are answered here (with their status) before returning None.
        """
        if self.conn.broken or self.conn.peer_closed:
            return None
        previous = self.sock.gettimeout() if timeout is not None else None
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            event = self.conn.next_event()
        except NoMoreData as exc:
            # The peer closed mid-request: nobody is left to read an answer.
            self.log.debug("Ignored premature client disconnection. %s", exc)
            self.conn.broken = True
            return None
        except ParseError as exc:
            self.reply_error(exc, getattr(exc, "req", None), datetime.now())
            return None
        except ssl.SSLError as exc:
            log_tls_failure(self.log, self.addr, exc)
            # A clean close, not the reset the client's unread bytes would cause.
            self.closed = True
            close_after_tls_failure(self.sock)
            return None
        except OSError as exc:
            message = client_gone_message(exc)
            if message is None:
                raise
            self.log.debug(message)
            return None
        finally:
            if timeout is not None and not self.closed:
                try:
                    self.sock.settimeout(previous)
                except OSError:
                    pass
        if isinstance(event, Request):
            return event
        if not isinstance(event, ConnectionClosed):
            self.log.debug("Unexpected protocol event %r; closing", event)
        return None

    # -- one request -------------------------------------------------------
    def handle(self, req):
        """Serve ``req``; True when the connection may carry another request."""
        try:
            return self._handle(req)
        finally:
            body = self.body
            if body is not None:
                # Breaks req.body <-> body now rather than at the next GC pass.
                body.release()

    def _handle(self, req):
        worker, settings, log = self.worker, self.settings, self.log
        start = datetime.now()
        body = self.body = RequestBody(self.conn, req)
        req.body = body
        resp = WSGIResponse(self.conn, req, sendfile=settings.sendfile,
                            on_head=self._before_head)
        environ = None
        result = None
        ok = False
        try:
            if settings.pre_request is not None:
                settings.pre_request(worker, req)
            environ = self.environ.build(req, body, resp.early_hints)
            if not self.keepalive:
                req.force_close()
            if settings.count_lock is None:
                worker.nr += 1
                count = worker.nr
            else:
                count = settings.count_request(worker)
            if count >= worker.max_requests:
                # (Logged by the one request that reached the limit, not by
                # every pool thread that passes it before the worker stops.)
                if count == worker.max_requests and worker.alive:
                    log.info("Autorestarting worker after current request.")
                worker.alive = False
                req.force_close()
            result = worker.wsgi(environ, resp.start_response)
            if settings.already_handled is not None and self._already_handled(result):
                # The app took the socket over (e.g. a websocket): write nothing.
                self.conn.broken = True
                return False
            resp.write_iterable(result)
            resp.finish()
            ok = True
        except Exception as exc:
            resp = self._fail(exc, req, resp, environ, start) or resp
        except SystemExit:
            # The worker is going away under the app (the arbiter's timeout
            # abort, or the app called sys.exit()): a client that got nothing
            # yet is told with a 500 rather than an empty reply.
            resp = self._answer_before_exit(resp)
            raise
        finally:
            self._close_iterable(result)
            if environ is None:
                environ = self._fallback_environ(req, body)
            try:
                log.access(resp, req, environ, datetime.now() - start)
            except Exception:
                log.exception("Failed to write the access log line")
            if settings.post_request is not None:
                try:
                    settings.post_request(worker, req, environ, resp)
                except Exception:
                    log.exception("Exception in post_request hook")
        if not ok:
            return False
        return self._may_continue(req, resp, body)

    def _already_handled(self, result):
        """Whether the app took the socket over (AsyncWorker.is_already_handled).

        Upstream-style overrides signal it by raising StopIteration; both count.
        """
        check = self.settings.already_handled
        if check is None:
            return False
        try:
            return bool(check(result))
        except StopIteration:
            return True

    def _before_head(self, resp):
        # Decided at the last moment: a TERM or max_requests during the app call
        # must still turn this response into the connection's last one.
        if not self.keepalive or not self.worker.alive:
            resp.must_close = True

    def _may_continue(self, req, resp, body):
        # The worker may have begun to stop since the head went out: a head that
        # promised keep-alive is kept (_before_head decided at that moment), or
        # the client's next request, maybe already sent, would meet a reset.
        if not self.keepalive or resp.must_close \
                or self.conn.broken or req.should_close() \
                or not getattr(self.proto, "keep_alive", False):
            return False
        try:
            if not body.drain():
                return False
        except (ParseError, OSError) as exc:
            self.log.debug("Closing after unread request body: %s", exc)
            return False
        self.proto.start_next_cycle()
        return True

    def _fail(self, exc, req, resp, environ, start):
        """Answer or abandon a request whose handling raised ``exc``."""
        message = client_gone_message(exc) if isinstance(exc, OSError) else None
        if isinstance(exc, NoMoreData):
            message = "Ignored premature client disconnection. %s" % (exc,)
        self.conn.broken = True
        if message is not None:
            self.log.debug(message)
            return None
        if isinstance(exc, ParseError):
            log_parse_error(self.log, self.addr, exc)
        else:
            self.log.exception(request_error_message(req))
        if resp.committed:
            # Too late for an error page: closing is the only honest signal.
            self._cut_short()
            return None
        # Whatever was framed but never written is replaced by the error page.
        self.conn.discard_pending()
        status, reason, mesg = error_reply(exc)
        return self._send_error_page(status, reason, mesg, self._protocol_page(exc),
                                     head_only=resp.is_head)

    def _answer_before_exit(self, resp):
        self.conn.broken = True
        if resp.committed:
            self._cut_short()
            return resp
        try:
            self.conn.discard_pending()
            return self._send_error_page(500, "Internal Server Error", "",
                                         head_only=resp.is_head)
        except Exception:
            return resp

    def _cut_short(self):
        """Make a response abandoned after its head look broken to the client.

        A Content-Length or chunked response shows the cut by itself (too few
        bytes, no last chunk). A close-delimited one (HTTP/1.0, uwsgi) would look
        complete after a plain close (RFC 9112 section 8), so it is reset instead.
        """
        if getattr(self.proto, "response_framing", None) == "close":
            self.response_cut = True

    def reply_error(self, exc, req, start):
        """Answer a request that failed before reaching the app (parse errors)."""
        status, reason, mesg = error_reply(exc)
        log_parse_error(self.log, self.addr, exc)
        self.conn.broken = True
        # The rest of what the client sent is unread: linger on close.
        self.error_sent = True
        resp = self._send_error_page(status, reason, mesg, self._protocol_page(exc),
                                     head_only=getattr(req, "method", None) == "HEAD")
        environ = self._fallback_environ(req, None)
        try:
            self.log.access(resp, req, environ, datetime.now() - start)
        except Exception:
            self.log.exception("Failed to write the access log line")

    def _protocol_page(self, exc):
        # The protocol renders its own parse errors (and learns it must close).
        send_error = getattr(self.proto, "send_error", None)
        if send_error is None or not isinstance(exc, ParseError):
            return None
        if getattr(exc, "status_code", 400) >= 500:
            # Server-side problems (ConfigurationProblem) stay in the error log.
            return None
        try:
            return send_error(exc)
        except Exception:
            return None

    def _send_error_page(self, status, reason, mesg, page=None, head_only=False):
        if page is None:
            page = render_error(status, reason, mesg)
        head_end = page.index(b"\r\n\r\n") + 4
        if head_only:
            # RFC 9110 section 9.3.2: a response to HEAD carries no content.
            page = page[:head_end]
        try:
            self.sock.sendall(page)
        except (OSError, ValueError) as exc:
            self.log.debug("Failed to send error message: %s", exc)
        headers = []
        for line in page[:head_end].decode("latin-1").split("\r\n")[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers.append((name, value.strip()))
        return _ErrorResponse(status, reason, len(page) - head_end, headers)

    def _fallback_environ(self, req, body):
        if req is None:
            return self.environ.base
        try:
            return self.environ.build(req, body)
        except Exception:
            return self.environ.base

    def _close_iterable(self, result):
        close = getattr(result, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception:
            self.log.exception("Error while closing the response iterable")

    # -- the connection ----------------------------------------------------
    def serve(self, keepalive_timeout=None):
        """Serve requests until the connection ends; always closes the socket."""
        try:
            req = self.next_request()
            while req is not None:
                if not self.handle(req) or not self.worker.alive:
                    break
                req = self.next_request(timeout=keepalive_timeout)
        except OSError as exc:
            message = client_gone_message(exc)
            if message is None:
                self.log.exception("Socket error processing request.")
            else:
                self.log.debug(message)
        finally:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        body = self.body
        if self.response_cut:
            reset_on_close(self.sock)
        elif self.conn.peer_closed:
            pass
        elif self.error_sent or (body is not None and body.has_body and not body.complete
                                 and not body.needs_continue):
            self._linger()
        try:
            self.sock.close()
        except OSError:
            pass

    def _linger(self):
        # Closing with unread request bytes makes the kernel send RST, which can
        # discard the response before the client reads it: half-close, then
        # read until the client closes too, bounded in bytes and in total time.
        deadline = time.monotonic() + LINGER_SECONDS
        # A protocol whose peer is a trusted front end that sends whole bodies
        # at once (uwsgi behind nginx) may allow more than an HTTP client gets.
        limit = getattr(self.proto, "linger_bytes", LINGER_BYTES)
        try:
            self.sock.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                data = self.sock.recv(65536)
                if not data:
                    break
                drained += len(data)
        except (OSError, ValueError):
            pass


def _no_delay(sock):
    """Set TCP_NODELAY on a TCP socket; True when it was set."""
    # Each write is a complete piece (head plus first chunk, a streamed chunk,
    # the end marker): Nagle would only hold the small last one back until the
    # client's delayed ACK, a 40 ms stall per response.
    if getattr(sock, "family", None) not in _TCP_FAMILIES:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        return False
    return True


def serve_connection(worker, sock, listener, addr, proto=None, keepalive=False,
                     keepalive_timeout=None):
    """Serve one accepted connection to its end (the sync worker: one request)."""
    ServedConnection(worker, sock, listener, addr, proto=proto,
                     keepalive=keepalive).serve(keepalive_timeout)
