"""Hold N idle keep-alive connections open to a server while a load test runs.

Run as a child process: `python idle_holder.py PORT COUNT MAX_SECONDS`. Each socket
sends one keep-alive GET and reads the answer, so it is a real idle keep-alive
connection, then stays silent. Prints one JSON line when ready, and one with how many
were still open when stdin closes (or MAX_SECONDS pass, whichever is first).
"""

import json
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
OPEN_PHASE_LIMIT = 20.0


def _response_complete(buf):
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return True  # the hello app always sends Content-Length; a head alone is enough here


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
            if _response_complete(pending[s]):
                sel.unregister(s)
                del pending[s]
                answered.append(s)
    failed += len(pending)
    for s in pending:
        sel.unregister(s)
        s.close()
    sel.close()
    return answered, failed


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
    sockets, failed = open_idle(port, count)
    print(json.dumps({"ready": len(sockets), "failed": failed,
                      "open_seconds": round(time.monotonic() - started, 2)}), flush=True)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    sel.select(timeout=max(0.0, max_seconds - (time.monotonic() - started)))
    print(json.dumps({"still_open": still_open(sockets)}), flush=True)
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
