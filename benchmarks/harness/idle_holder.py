"""Hold N idle keep-alive connections open to a server while a load test runs.

Run as a child process: `python idle_holder.py PORT COUNT MAX_SECONDS`. Each socket
sends one keep-alive GET and reads the answer, so it is a real idle keep-alive
connection, then stays silent; a socket whose answer says `Connection: close` is
closed, as a browser would. Prints one JSON line when ready, and one with how many
were still open when stdin closes (or MAX_SECONDS pass, whichever is first).
"""

import json
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
OPEN_PHASE_LIMIT = 20.0


def _parse_response(buf):
    """None while incomplete, else whether the server offered to keep the connection."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    keep = True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip() or 0)
        elif name == b"connection" and b"close" in value.lower():
            keep = False
    if len(body) < length:
        return None
    return keep


def open_idle(port, count):
    """Connect, ask once and read the answer on `count` sockets; returns the open ones."""
    sel = selectors.DefaultSelector()
    pending = {}
    failed = 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            failed += 1
            s.close()
            continue
        pending[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    answered = []
    refused = 0
    deadline = time.monotonic() + OPEN_PHASE_LIMIT
    while pending and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                if mask & selectors.EVENT_WRITE:
                    s.send(REQUEST)
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                failed += 1
                sel.unregister(s)
                del pending[s]
                s.close()
                continue
            pending[s] += data
            keep = _parse_response(pending[s])
            if keep is None:
                continue
            sel.unregister(s)
            del pending[s]
            if keep:
                answered.append(s)
            else:
                # A real client closes when told to; holding on would stall a server
                # that lingers for the client's FIN (e.g. a sync worker).
                refused += 1
                s.close()
    failed += len(pending)
    for s in pending:
        sel.unregister(s)
        s.close()
    sel.close()
    return answered, failed, refused


def still_open(sockets):
    alive = 0
    for s in sockets:
        try:
            # A readable socket with nothing to read has been closed by the server.
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
            alive += 1
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def main():
    port, count, max_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    started = time.monotonic()
    sockets, failed, refused = open_idle(port, count)
    print(json.dumps({"ready": len(sockets), "failed": failed, "closed_by_server": refused,
                      "open_seconds": round(time.monotonic() - started, 2)}), flush=True)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    sel.select(timeout=max(0.0, max_seconds - (time.monotonic() - started)))
    print(json.dumps({"still_open": still_open(sockets)}), flush=True)
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
