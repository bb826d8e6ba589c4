"""Listening sockets: bind TCP, IPv6 and unix addresses, adopt inherited fds, TLS contexts."""

import errno
import os
import socket
import ssl
import stat
import struct
import sys
import time

from gunicorn import process
from gunicorn.addresses import is_ipv6

# how often a busy address is tried before giving up, one second apart
BIND_ATTEMPTS = 5

# struct tcp_info (linux/tcp.h): 8 one-byte fields then 32-bit ones; for a
# listening socket tcpi_unacked (the 13th field) is the accept queue length
_TCP_INFO = struct.Struct("8B24I")
_TCPI_UNACKED = 12

# ``--http-protocols`` names -> ALPN protocol ids (RFC 7301); h3 runs over QUIC, not TLS/TCP
_ALPN_IDS = {"h1": "http/1.1", "h2": "h2"}


class BaseSocket:
    """A listening socket plus the configuration it was made from.

    Unknown attributes are looked up on the wrapped socket, so a listener
    can be used wherever a socket is expected (``accept``, ``fileno`` ...).
    """

    FAMILY = None

    def __init__(self, address, conf, log, fd=None):
        self.log = log
        self.conf = conf
        self.cfg_addr = address
        if fd is None:
            sock = socket.socket(self.FAMILY, socket.SOCK_STREAM)
            bound = False
        else:
            # adopt an fd bound by a previous master or by systemd; keeping its
            # number lets a re-exec pass it on as LISTEN_FDS (fd 3 onwards) again
            sock = socket.socket(self.FAMILY, socket.SOCK_STREAM, fileno=fd)
            bound = True
        try:
            self.sock = self.set_options(sock, bound=bound)
        except BaseException:
            sock.close()
            raise

    def __str__(self):
        return f"<socket {self.sock.fileno()}>"

    def __getattr__(self, name):
        if name == "sock":
            # not set yet (failed construction): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.sock, name)

    def set_options(self, sock, bound=False):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.conf.reuse_port and hasattr(socket, "SO_REUSEPORT"):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            except OSError as err:
                # unix sockets and some kernels do not support it: not fatal
                if err.errno not in (errno.ENOPROTOOPT, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
        if not bound:
            self.bind(sock)
        sock.setblocking(False)
        # workers are forked (and a re-exec'ed master exec'ed) with these fds
        sock.set_inheritable(True)
        sock.listen(self.conf.backlog)
        return sock

    def bind(self, sock):
        sock.bind(self.cfg_addr)

    def get_backlog(self):
        """Connections waiting to be accepted (Linux TCP only), else None."""
        tcp_info = getattr(socket, "TCP_INFO", None)
        if self.sock is None or tcp_info is None or self.FAMILY == socket.AF_UNIX:
            return None
        try:
            raw = self.sock.getsockopt(socket.IPPROTO_TCP, tcp_info, _TCP_INFO.size)
            return _TCP_INFO.unpack(raw[:_TCP_INFO.size].ljust(_TCP_INFO.size, b"\0"))[_TCPI_UNACKED]
        except (OSError, struct.error):
            return None

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.close()
        except OSError as e:
            self.log.info("Error while closing socket %s", str(e))
        self.sock = None


class TCPSocket(BaseSocket):
    FAMILY = socket.AF_INET

    def __str__(self):
        scheme = "https" if self.conf.is_ssl else "http"
        host, port = self.sock.getsockname()[:2]
        return f"{scheme}://{host}:{port}"

    def set_options(self, sock, bound=False):
        # responses are written whole; do not hold back the last segment
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().set_options(sock, bound=bound)


class TCP6Socket(TCPSocket):
    FAMILY = socket.AF_INET6

    def __str__(self):
        scheme = "https" if self.conf.is_ssl else "http"
        host, port = self.sock.getsockname()[:2]
        return f"{scheme}://[{host}]:{port}"


class UnixSocket(BaseSocket):
    FAMILY = socket.AF_UNIX

    def __init__(self, addr, conf, log, fd=None):
        if fd is None:
            try:
                st = os.stat(addr)
            except FileNotFoundError:
                pass
            else:
                # a socket file left by a dead server would make bind() fail
                if stat.S_ISSOCK(st.st_mode):
                    os.remove(addr)
                else:
                    raise ValueError(f"{addr!r} is not a socket")
        super().__init__(addr, conf, log, fd=fd)

    def __str__(self):
        return f"unix:{self.cfg_addr}"

    def bind(self, sock):
        # the umask decides the socket file's mode, hence who may connect
        old_umask = os.umask(self.conf.umask)
        try:
            sock.bind(self.cfg_addr)
            process.chown(self.cfg_addr, self.conf.uid, self.conf.gid)
        finally:
            os.umask(old_umask)


def _sock_type(addr):
    if isinstance(addr, tuple):
        return TCP6Socket if is_ipv6(addr[0]) else TCPSocket
    if isinstance(addr, (str, bytes)):
        return UnixSocket
    raise TypeError(f"Unable to create socket from: {addr!r}")


def _adopt(fd, conf, log):
    """Wrap an already bound listening ``fd`` in the listener class of its family."""
    probe = socket.socket(fileno=os.dup(fd))
    try:
        family, name = probe.family, probe.getsockname()
    finally:
        probe.close()
    listener_class = {socket.AF_INET: TCPSocket, socket.AF_INET6: TCP6Socket,
                      socket.AF_UNIX: UnixSocket}.get(family)
    if listener_class is None:
        raise RuntimeError(f"fd {fd} is not an inet or unix socket")
    return listener_class(name, conf, log, fd=fd)


def check_tls_files(conf):
    """Fail at start (one ``Error:`` line naming the setting), not on the first TLS handshake.

    Beyond the files existing, the context is built once here, through the
    ``ssl_context`` hook as the workers will: a key that does not match the
    certificate, an encrypted key, a bad cipher list, CA file or ``cert_reqs``
    would otherwise let the server start and then fail every connection.
    """
    for setting in ("certfile", "keyfile", "ca_certs"):
        path = getattr(conf, setting, None)
        if path and not os.path.exists(path):
            raise RuntimeError(f"Invalid value for {setting}: {path!r} does not exist")
    if not (getattr(conf, "certfile", None) or getattr(conf, "keyfile", None)):
        return  # TLS is off (Config.is_ssl says the same)
    if not conf.certfile:
        raise RuntimeError("Invalid value for certfile: None: keyfile is set, certfile is required")
    try:
        context = ssl_context(conf)
    except Exception as exc:  # noqa: BLE001  (any failure here is a configuration error)
        setting = getattr(exc, "tls_setting", None)
        reason = _reason(exc)
        if setting == "keyfile" and not _holds_certificates(conf.certfile):
            setting = "certfile"
        elif setting == "certfile" and not conf.keyfile and _holds_certificates(conf.certfile):
            reason += " (no private key in it: set keyfile)"
        if setting is None:
            raise RuntimeError(f"ssl_context hook failed: {_reason(exc)}") from None
        raise RuntimeError(f"Invalid value for {setting}: {getattr(conf, setting)!r}: "
                           f"{reason}") from None
    if not isinstance(context, ssl.SSLContext):
        raise RuntimeError("ssl_context hook must return an ssl.SSLContext, "
                           f"not {type(context).__name__}")


def _holds_certificates(path):
    """Whether ``path`` parses as PEM certificates (tells a bad certfile from a bad keyfile)."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        return False
    return True


def _reason(exc):
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]  # SSLError("...") would show as a tuple
    return str(exc) or type(exc).__name__


def _bind(addr, conf, log):
    listener_class = _sock_type(addr)
    for attempt in range(BIND_ATTEMPTS):
        try:
            return listener_class(addr, conf, log)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                log.error("Connection in use: %s", str(addr))
            elif e.errno == errno.EADDRNOTAVAIL:
                log.error("Invalid address: %s", str(addr))
            log.error("connection to %s failed: %s", str(addr), str(e))
            if attempt < BIND_ATTEMPTS - 1:
                log.debug("Retrying in 1 second.")
                time.sleep(1)
    return None


def create_sockets(conf, log, fds=None):
    """Listeners for every ``conf.address``, or for the inherited ``fds``.

    Inherited fds (``fd://N`` binds, ``GUNICORN_FD``, systemd) are already
    bound, so when any are present nothing new is bound. An address that stays
    busy after a few attempts logs "Can't connect to ..." and exits with 1.
    """
    addresses = conf.address
    inherited = [a for a in addresses if isinstance(a, int)]
    if fds:
        inherited += list(fds)
    to_bind = [a for a in addresses if not isinstance(a, int)]

    check_tls_files(conf)

    if inherited:
        return [_adopt(fd, conf, log) for fd in inherited]

    listeners = []
    for addr in to_bind:
        listener = _bind(addr, conf, log)
        if listener is None:
            log.error("Can't connect to %s", str(addr))
            sys.exit(1)
        listeners.append(listener)
    return listeners


def worker_reuse_port_sockets(conf, log):
    """Extra TCP listeners a worker binds for itself under ``--reuse-port``.

    With SO_REUSEPORT the kernel spreads new connections over every socket
    bound to the port, so each worker gets its own share instead of all of
    them racing to accept on one queue. The worker keeps the master's
    listeners too: connections the kernel queues there are still served.
    Unix addresses are skipped (one path, one socket). A failed bind is
    logged and skipped: the shared listeners still work.
    """
    if not (conf.reuse_port and hasattr(socket, "SO_REUSEPORT")):
        return []
    own = []
    for addr in conf.address:
        if not isinstance(addr, tuple):
            continue
        try:
            own.append(_sock_type(addr)(addr, conf, log))
        except OSError as e:
            log.warning("reuse_port: worker could not bind its own %s: %s", str(addr), e)
    return own


def close_sockets(listeners, unlink=True):
    """Close ``listeners``; remove unix socket files too unless ``unlink`` is False."""
    for listener in listeners:
        try:
            name = listener.getsockname()
        except (OSError, AttributeError):
            name = None  # already closed
        listener.close()
        if unlink and isinstance(listener, UnixSocket) and isinstance(name, str) and name:
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass


def _alpn_protocols(conf):
    protocols = getattr(conf, "http_protocols", None) or []
    if isinstance(protocols, str):
        protocols = [p.strip() for p in protocols.split(",") if p.strip()]
    return [_ALPN_IDS[p] for p in protocols if p in _ALPN_IDS]


class EncryptedKeyError(ssl.SSLError):
    """The key file needs a passphrase, and no setting can supply one."""


def _refuse_passphrase():
    # Without a callback OpenSSL prompts on the terminal: a worker would block
    # on a tty (or fail every handshake without one) instead of refusing once.
    raise EncryptedKeyError("the key is encrypted; decrypt it, or load it with its "
                            "passphrase in an ssl_context hook")


def _naming(setting, step, *args, **kwargs):
    """Run one step of building the context; a failure carries the setting it came from."""
    try:
        return step(*args, **kwargs)
    except Exception as exc:
        exc.tls_setting = setting
        raise


def ssl_context(conf):
    """The server's ``SSLContext``, built by the ``ssl_context`` hook.

    The hook receives ``conf`` and a factory for the default context, so it
    can adjust the default rather than start from scratch.
    """

    def default_ssl_context_factory():
        context = _naming("ca_certs", ssl.create_default_context, ssl.Purpose.CLIENT_AUTH,
                          cafile=conf.ca_certs)
        # a key inside the certificate file is found when keyfile is unset
        _naming("keyfile" if conf.keyfile else "certfile", context.load_cert_chain,
                certfile=conf.certfile, keyfile=conf.keyfile, password=_refuse_passphrase)
        _naming("cert_reqs", setattr, context, "verify_mode", conf.cert_reqs)
        if conf.ciphers:
            _naming("ciphers", context.set_ciphers, conf.ciphers)
        alpn = _alpn_protocols(conf)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    hook = getattr(conf, "ssl_context", None)
    if hook is None:
        return default_ssl_context_factory()
    return hook(conf, default_ssl_context_factory)


class TLSContextCache:
    """The server ``SSLContext`` of one worker, rebuilt when its files change on disk.

    Upstream 27.0.1 builds a context per connection in the sync and gthread
    workers, so a renewed certificate is served without a restart; this keeps
    that for the cost of a ``stat()`` per file per connection instead of
    parsing the key again. When the files are caught mid-renewal (the new
    certificate written, its key not yet) the previous context stays in use
    and the rebuild is tried again on the next connection.
    """

    def __init__(self, conf, adjust=None):
        self.conf = conf
        self.adjust = adjust  # called on each new context (e.g. to narrow ALPN)
        self._context = None
        self._stamp = None

    def _files_stamp(self):
        stamp = []
        for setting in ("certfile", "keyfile", "ca_certs"):
            path = getattr(self.conf, setting, None)
            if not path:
                continue
            try:
                st = os.stat(path)
            except OSError:
                stamp.append(None)
            else:
                stamp.append((st.st_ino, st.st_mtime_ns, st.st_size))
        return tuple(stamp)

    def get(self):
        stamp = self._files_stamp()
        if self._context is not None and stamp == self._stamp:
            return self._context
        try:
            context = ssl_context(self.conf)
            if self.adjust is not None:
                self.adjust(context)
        except Exception:
            if self._context is None:
                raise
            return self._context
        self._context, self._stamp = context, stamp
        return context


# conf id -> (conf, its TLSContextCache): one context per worker for ssl_wrap_socket
_WRAP_CACHES = {}


def ssl_wrap_socket(sock, conf):
    """Wrap an accepted connection in server-side TLS."""
    entry = _WRAP_CACHES.get(id(conf))
    if entry is None or entry[0] is not conf:
        entry = _WRAP_CACHES[id(conf)] = (conf, TLSContextCache(conf))
    return entry[1].get().wrap_socket(
        sock, server_side=True,
        suppress_ragged_eofs=conf.suppress_ragged_eofs,
        do_handshake_on_connect=conf.do_handshake_on_connect)


# what close_after_tls_failure reads (never waits for) before closing
_REFUSED_DRAIN_BYTES = 1 << 16


def close_after_tls_failure(conn):
    """Close a connection whose TLS handshake failed with a FIN, not a reset.

    The client's unread bytes (plain HTTP sent to the TLS port, or a request
    sent right after its part of the handshake) would make ``close()`` answer
    with RST, which can destroy the alert in flight and shows as "connection
    reset" instead of "empty reply" (upstream 27.0.1 closes cleanly). Only
    bytes already received are read: this never blocks, so any worker may
    call it from its event loop.
    """
    try:
        # the TLS layer is broken: work on the TCP socket under it (stdlib,
        # gevent and eventlet TLS sockets alike), borrowing the fd, not owning it
        raw = socket.socket(fileno=conn.fileno())
    except (OSError, ValueError):
        raw = None
    if raw is not None:
        try:
            raw.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < _REFUSED_DRAIN_BYTES:
                data = raw.recv(65536, socket.MSG_DONTWAIT)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass  # nothing more received yet (EAGAIN), or the peer is gone
        finally:
            raw.detach()
    try:
        conn.close()
    except OSError:
        pass


def get_negotiated_protocol(ssl_socket):
    """The ALPN protocol the client chose (``"h2"``, ``"http/1.1"``) or None."""
    selected = getattr(ssl_socket, "selected_alpn_protocol", None)
    if selected is None:
        return None
    try:
        return selected()
    except (ssl.SSLError, ValueError, OSError):
        return None


def is_http2_negotiated(ssl_socket):
    """True when the TLS handshake agreed on HTTP/2 (RFC 9113 section 3.2)."""
    return get_negotiated_protocol(ssl_socket) == "h2"
