"""A WSGI app for the integration tests: echoes what it was given, streams, counts its calls."""

import hashlib
import json
import os
import time

CALLS_FILE = os.environ.get("UWSGI_TEST_CALLS_FILE")
ENVIRON_KEYS = (
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "RAW_URI", "REQUEST_URI",
    "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT",
    "CONTENT_TYPE", "CONTENT_LENGTH", "HTTPS", "DOCUMENT_ROOT", "REQUEST_SCHEME",
    "wsgi.url_scheme", "APP_MARK",
)


def app(environ, start_response):
    if CALLS_FILE:
        with open(CALLS_FILE, "a") as calls:
            calls.write(environ.get("PATH_INFO", "") + "\n")
    path = environ["PATH_INFO"]
    if path.startswith("/echo-body"):
        return echo_body(environ, start_response)
    if path.startswith("/stream"):
        return stream(environ, start_response)
    if path.startswith("/slow"):
        return slow(start_response)
    if path.startswith("/fail-mid-stream"):
        return fail_mid_stream(start_response)
    if path.startswith("/cookies"):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2"),
                                  ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        return [b"ok"]
    return echo_environ(environ, start_response)


def echo_environ(environ, start_response):
    data = {key: environ[key] for key in ENVIRON_KEYS if key in environ}
    data["headers"] = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
    body = json.dumps(data, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def echo_body(environ, start_response):
    body = environ["wsgi.input"].read()
    digest = hashlib.sha256(body).hexdigest()
    reply = json.dumps({"length": len(body), "sha256": digest,
                        "content_length": environ.get("CONTENT_LENGTH"),
                        "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])  # no length: streamed
    return [reply]


def stream(environ, start_response):
    """``/stream/<chunks>``: that many 64 KiB chunks, each filled with its index, no length."""
    count = int(environ["PATH_INFO"].rsplit("/", 1)[-1] or 16)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for index in range(count):
        yield bytes([index % 256]) * 65536


def fail_mid_stream(start_response):
    """Streams one 64 KiB chunk, then the app fails: the response is cut short."""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    yield b"x" * 65536
    raise RuntimeError("the app failed mid-body")


def slow(start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"first\n"
    time.sleep(1.5)
    yield b"second\n"
