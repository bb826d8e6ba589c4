"""A WSGI app for HTTP/2 on the greenlet workers: protocol echo, slow, large and upload answers."""

import hashlib
import time

BIG = 1 << 20


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/slow":
        # Patched by gevent/eventlet: only this stream's greenlet sleeps.
        time.sleep(float(environ.get("QUERY_STRING") or 1))
        body = b"slow"
    elif path == "/big":
        body = b"b" * BIG
    elif path == "/upload":
        data = environ["wsgi.input"].read()
        body = b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())
    else:
        body = environ["SERVER_PROTOCOL"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
