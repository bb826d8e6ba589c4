"""A bare uwsgi loop in pure Python: the floor a Python process reaches behind nginx.

Not a server to use: one process, one blocking connection at a time, and none
of the checks, limits, logging, hooks or error handling a real server needs.
The uwsgi scenario runs it beside pyuwsgi to show how much of the gap to a C
server is the interpreter itself rather than the work gunicorn does per request.
It works on raw file descriptors (no socket objects: creating one from an fd
costs a getsockname() call and Python-level setup per connection), so it is the
cheapest a Python loop can be.

usage: python bare_uwsgi_loop.py PORT
"""

import io
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsgi_app import app  # noqa: E402

BASE = {"wsgi.version": (1, 0), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False}


def read_vars(block):
    # name and value lengths are little-endian uint16 before each string
    text = block.decode("latin-1")
    env, pos = {}, 0
    while pos < len(block):
        end = pos + 2 + (block[pos] | block[pos + 1] << 8)
        stop = end + 2 + (block[end] | block[end + 1] << 8)
        env[text[pos + 2:end]] = text[end + 2:stop]
        pos = stop
    return env


def serve(fd):
    data = os.read(fd, 65536)
    if len(data) < 4:
        return  # a readiness probe that connects and leaves
    size = 4 + (data[1] | data[2] << 8)
    while len(data) < size:
        data += os.read(fd, 65536)
    environ = read_vars(data[4:size])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = data[size:]
    while len(body) < length:
        body += os.read(fd, 65536)
    environ.update(BASE)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.url_scheme"] = "https" if environ.get("HTTPS") == "on" else "http"
    head = []

    def start_response(status, headers, exc_info=None):
        head[:] = [status, headers]

    chunks = app(environ, start_response)
    status, headers = head
    lines = ["HTTP/1.1 " + status, "Connection: close",
             time.strftime("Date: %a, %d %b %Y %H:%M:%S GMT", time.gmtime())]
    lines += [name + ": " + value for name, value in headers]
    os.write(fd, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + b"".join(chunks))


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(2048)
    while True:
        fd, _ = listener._accept()
        try:
            serve(fd)
        except Exception as exc:  # one bad connection must not end the loop
            print("bare loop:", repr(exc), file=sys.stderr)
        finally:
            os.close(fd)


if __name__ == "__main__":
    main()
