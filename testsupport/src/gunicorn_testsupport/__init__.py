"""Test helpers shared across the monorepo's packages (not published)."""

from gunicorn_testsupport.server import (
    ServerProcess,
    free_port,
    raw_exchange,
    raw_request,
    run_gunicorn,
    wait_for,
)

__all__ = ["ServerProcess", "free_port", "raw_exchange", "raw_request", "run_gunicorn", "wait_for"]
