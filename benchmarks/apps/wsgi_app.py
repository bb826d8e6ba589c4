"""WSGI benchmark app: hello world at /, 64 KiB at /64k, upload sink at /upload."""

HELLO = b"Hello, World!"
# Built once at import so the benchmark measures the server, not the app.
BIG = b"x" * (64 * 1024)
READ_CHUNK = 64 * 1024


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO)))])
    return [HELLO]


def big(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))],
    )
    return [BIG]


def upload(environ, start_response):
    stream = environ["wsgi.input"]
    total = 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        total += len(chunk)
    body = str(total).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


ROUTES = {"/": hello, "/64k": big, "/upload": upload}


def app(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", "/"), not_found)
    return handler(environ, start_response)
