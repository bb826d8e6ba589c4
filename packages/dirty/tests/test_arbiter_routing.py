"""Routing without processes: which apps a worker loads, which worker gets a call, errors sent."""

from types import SimpleNamespace

import pytest

from gunicorn.dirty import wire
from gunicorn.dirty.calls import CallRelay
from gunicorn.dirty.routing import (
    AppPlan,
    apps_for_new_worker,
    minimum_workers,
    pick_worker,
    pick_workers_to_remove,
)

A, B = "m:A", "m:B"
PLANS = [AppPlan(A, None), AppPlan(B, 1)]


def worker(age, apps, calls=0, booted=True, stopping=False):
    return SimpleNamespace(age=age, pid=1000 + age, apps=list(apps), booted=booted,
                           stopping=stopping, last_picked=0,
                           calls={i: None for i in range(calls)})


def test_limited_app_goes_only_where_it_is_short():
    assert apps_for_new_worker(PLANS, []) == [A, B]
    assert apps_for_new_worker(PLANS, [worker(1, [A, B])]) == [A]
    # its holder died: the replacement takes it back
    assert apps_for_new_worker(PLANS, [worker(2, [A])]) == [A, B]


def test_minimum_workers_is_the_largest_limit():
    assert minimum_workers([AppPlan(A, None)]) == 1
    assert minimum_workers([AppPlan(A, 3), AppPlan(B, 2)]) == 3


def test_free_worker_first_then_least_loaded():
    busy, free = worker(1, [A], calls=1), worker(2, [A])
    assert pick_worker([busy, free], A, threads=1) is free
    both_busy = [worker(1, [A], calls=3), worker(2, [A], calls=1)]
    assert pick_worker(both_busy, A, threads=1) is both_busy[1]
    # with two threads a worker with one call is still free
    assert pick_worker([worker(1, [A], calls=1), worker(2, [A], calls=0, booted=False)],
                       A, threads=2).age == 1


def test_sequential_calls_take_turns():
    pool = [worker(1, [A]), worker(2, [A])]
    picked = [pick_worker(pool, A, threads=1).age for _ in range(4)]
    assert picked == [1, 2, 1, 2]


def test_stopping_or_app_less_workers_are_never_picked():
    assert pick_worker([worker(1, [A], stopping=True), worker(2, [B])], A, 1) is None


def test_removal_keeps_the_only_holder_of_an_app():
    holder, plain1, plain2 = worker(1, [A, B]), worker(2, [A]), worker(3, [A])
    assert pick_workers_to_remove([holder, plain1, plain2], 2, PLANS) == [plain2, plain1]


class _Client:
    def __init__(self):
        self.sent = []

    def send_error(self, request_id, exc):
        self.sent.append((request_id, type(exc).__name__))


@pytest.mark.parametrize("app, workers, expected", [
    ("m:Unknown", [], "DirtyAppNotFoundError"),
    (A, [], "DirtyNoWorkersAvailableError"),
    (A, [worker(1, [A], stopping=True)], "DirtyNoWorkersAvailableError"),
])
def test_relay_errors_before_any_worker_is_asked(app, workers, expected):
    arbiter = SimpleNamespace(app_paths={A, B}, workers={w.pid: w for w in workers},
                              cfg=SimpleNamespace(dirty_threads=1, dirty_timeout=5), log=None)
    client = _Client()
    msg = wire.Message(wire.REQUEST, 7, {"app_path": app, "action": "x", "args": [],
                                         "kwargs": {}})
    CallRelay(arbiter).start(client, msg)
    assert client.sent == [(7, expected)]
