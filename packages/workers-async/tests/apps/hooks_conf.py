"""A gunicorn config file whose hooks record what they saw."""

import os


def _record(line):
    with open(os.environ["ASGI_TEST_EVENTS"], "a") as fh:
        fh.write(line + "\n")


def post_worker_init(worker):
    _record(f"post_worker_init {type(worker).__name__}")


def pre_request(worker, req):
    _record(f"pre_request {req.method} {req.path}")


def post_request(worker, req, environ, resp):
    _record(f"post_request {req.path} {resp.status} {environ['REQUEST_METHOD']}")


def worker_abort(worker):
    _record(f"worker_abort {type(worker).__name__}")
