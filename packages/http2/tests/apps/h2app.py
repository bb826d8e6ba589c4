"""The WSGI app the HTTP/2 integration tests serve."""

import json
import time


def _dump(environ):
    keys = {k: v for k, v in environ.items()
            if isinstance(v, (str, int)) and (k.isupper() or k.startswith("gunicorn.http2")
                                              or k == "wsgi.url_scheme")}
    keys["has_send_trailers"] = callable(environ.get("gunicorn.http2.send_trailers"))
    keys["has_early_hints"] = callable(environ.get("wsgi.early_hints"))
    return json.dumps(keys).encode()


def app(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/echo-lines":
        lines = list(environ["wsgi.input"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d" % len(lines)]
    if path == "/big":
        size = int(query or 1 << 20)

        def chunks():
            left = size
            while left > 0:
                yield b"x" * min(left, 65536)
                left -= 65536
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return chunks()
    if path == "/sized":
        body = b"y" * 1000
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/short":
        # Declares more than it sends: the stream must be reset, not left hanging.
        start_response("200 OK", [("Content-Length", "100")])
        return [b"only ten b"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/boom-late":
        def late():
            yield b"partial"
            raise RuntimeError("late boom")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return late()
    if path == "/slow":
        time.sleep(float(query or 1))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    if path == "/marked-slow":
        # Leaves a mark once the app is running, so a test can signal the server then.
        with open(query, "w") as mark:
            mark.write("started")
        time.sleep(1.0)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    if path == "/read-into":
        # Reads the whole body, then writes what it got (or what went wrong) to the file.
        try:
            outcome = "read %d" % len(environ["wsgi.input"].read())
        except Exception as exc:
            outcome = "error %s" % type(exc).__name__
            raise
        finally:
            with open(query, "w") as mark:
                mark.write(outcome)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [outcome.encode()]
    if path == "/trailers":
        def body():
            yield b"with trailers"
            environ["gunicorn.http2.send_trailers"]([("X-Checksum", "abc123")])
        start_response("200 OK", [("Content-Type", "text/plain"), ("Trailer", "X-Checksum")])
        return body()
    if path == "/hints":
        environ["wsgi.early_hints"]([("Link", "</style.css>; rel=preload; as=style")])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hinted"]
    if path == "/file":
        import tempfile

        handle = tempfile.TemporaryFile()
        handle.write(b"f" * 300_000)
        handle.seek(0)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](handle, 8192)
    if path == "/expect":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"got %d" % len(body)]
    if path == "/no-content":
        start_response("204 No Content", [])
        return []
    start_response("200 OK", [("Content-Type", "application/json"), ("X-App", "h2app"),
                              ("Connection", "keep-alive")])
    return [_dump(environ)]
