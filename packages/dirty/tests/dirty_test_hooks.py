"""A gunicorn config whose dirty hooks log each call to $DIRTY_TEST_EVENTS."""

import os


def _note(line):
    with open(os.environ["DIRTY_TEST_EVENTS"], "a") as f:
        f.write(line + "\n")


def on_dirty_starting(arbiter):
    _note(f"on_dirty_starting {os.getpid()}")


def dirty_post_fork(arbiter, worker):
    _note(f"dirty_post_fork {worker.pid} {os.getpid()}")


def dirty_worker_init(worker):
    _note(f"dirty_worker_init {worker.pid} {','.join(sorted(worker.apps))}")


def dirty_worker_exit(arbiter, worker):
    _note(f"dirty_worker_exit {worker.pid} {os.getpid()}")
