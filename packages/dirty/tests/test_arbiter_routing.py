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


def test_only_a_booted_worker_with_a_free_thread_is_picked():
    busy, free = worker(1, [A], calls=1), worker(2, [A])
    assert pick_worker([busy, free], A, threads=1) is free
    # every worker busy: nobody (the call waits in the arbiter)
    assert pick_worker([worker(1, [A], calls=3), worker(2, [A], calls=1)], A, threads=1) is None
    # with two threads a worker with one call is still free; a booting one never is
    assert pick_worker([worker(1, [A], calls=1), worker(2, [A], calls=0, booted=False)],
                       A, threads=2).age == 1
    assert pick_worker([worker(1, [A], booted=False)], A, threads=2) is None
    # the least loaded of the free ones
    assert pick_worker([worker(1, [A], calls=2), worker(2, [A], calls=1)], A, threads=4).age == 2


def test_sequential_calls_take_turns():
    pool = [worker(1, [A]), worker(2, [A])]
    picked = [pick_worker(pool, A, threads=1).age for _ in range(4)]
    assert picked == [1, 2, 1, 2]


def test_stopping_or_app_less_workers_are_never_picked():
    assert pick_worker([worker(1, [A], stopping=True), worker(2, [B])], A, 1) is None


def test_removal_keeps_the_only_holder_of_an_app():
    holder, plain1, plain2 = worker(1, [A, B]), worker(2, [A]), worker(3, [A])
    assert pick_workers_to_remove([holder, plain1, plain2], 2, PLANS) == [plain2, plain1]


def test_removal_prefers_an_idle_worker_to_a_busy_one():
    busy, idle = worker(2, [A], calls=1), worker(1, [A])
    assert pick_workers_to_remove([idle, busy], 1, PLANS) == [idle]


class _Client:
    def __init__(self):
        self.sent = []

    def send_error(self, request_id, exc):
        self.sent.append((request_id, type(exc).__name__))


@pytest.mark.parametrize("app, stopping, expected", [
    ("m:Unknown", False, "DirtyAppNotConfiguredError"),
    (A, True, "DirtyNoWorkersAvailableError"),
])
def test_relay_errors_before_any_worker_is_asked(app, stopping, expected):
    arbiter = SimpleNamespace(app_paths={A, B}, workers={}, stopping=stopping,
                              cfg=SimpleNamespace(dirty_threads=1, dirty_timeout=5), log=None)
    client = _Client()
    msg = wire.Message(wire.REQUEST, 7, {"app_path": app, "action": "x", "args": [],
                                         "kwargs": {}})
    CallRelay(arbiter).start(client, msg)
    assert client.sent == [(7, expected)]


class _Writer:
    def __init__(self):
        self.sent = []

    def write(self, data):
        self.sent.append(data)


class _ReplyClient(_Client):
    def send(self, msg_type, request_id, payload=None):
        self.sent.append((request_id, wire.TYPE_NAMES[msg_type]))


def test_a_call_behind_a_lost_call_waits_for_the_next_worker():
    # one worker, one thread: the second call waits in the arbiter, not in the
    # worker, so the worker's death (a timeout kill) fails only the first
    first = worker(1, [A])
    first.writer = _Writer()
    arbiter = SimpleNamespace(app_paths={A}, workers={first.pid: first}, stopping=False,
                              cfg=SimpleNamespace(dirty_threads=1, dirty_timeout=0), log=None)
    relay = CallRelay(arbiter)
    client = _ReplyClient()
    for request_id in (1, 2):
        relay.start(client, wire.Message(wire.REQUEST, request_id,
                                         {"app_path": A, "action": "x", "args": [], "kwargs": {}}))
    assert len(first.writer.sent) == 1 and len(relay.waiting) == 1
    first.stopping = True
    relay.worker_lost(first, "was killed after a call timed out")
    assert client.sent == [(1, "DirtyWorkerError")]
    second = worker(2, [A])
    second.writer = _Writer()
    arbiter.workers[second.pid] = second
    relay.dispatch()
    assert len(second.writer.sent) == 1 and relay.waiting == []
    call_id = next(iter(second.calls))
    relay.from_worker(second, wire.Message(wire.RESPONSE, call_id, {"result": 1}))
    assert client.sent == [(1, "DirtyWorkerError"), (2, "response")]


def test_waiting_calls_fail_when_the_only_booting_worker_dies():
    # its app's init() raised: no booted worker has the app, so the call
    # fails now instead of waiting out the client's timeout
    booting = worker(1, [A], booted=False)
    arbiter = SimpleNamespace(app_paths={A}, workers={booting.pid: booting}, stopping=False,
                              cfg=SimpleNamespace(dirty_threads=1, dirty_timeout=0), log=None)
    relay = CallRelay(arbiter)
    client = _ReplyClient()
    relay.start(client, wire.Message(wire.REQUEST, 3, {"app_path": A, "action": "x",
                                                       "args": [], "kwargs": {}}))
    assert client.sent == [] and len(relay.waiting) == 1
    booting.stopping = True
    relay.worker_failed_to_boot()
    assert client.sent == [(3, "DirtyNoWorkersAvailableError")] and relay.waiting == []


def test_a_call_while_every_worker_is_retiring_waits_for_the_fresh_ones():
    # a HUP retires every worker before the fresh ones are forked: no error meanwhile
    old = worker(1, [A], stopping=True)
    arbiter = SimpleNamespace(app_paths={A}, workers={old.pid: old}, stopping=False,
                              cfg=SimpleNamespace(dirty_threads=1, dirty_timeout=0), log=None)
    relay = CallRelay(arbiter)
    client = _ReplyClient()
    relay.start(client, wire.Message(wire.REQUEST, 4, {"app_path": A, "action": "x",
                                                       "args": [], "kwargs": {}}))
    assert client.sent == [] and len(relay.waiting) == 1
    fresh = worker(2, [A])
    fresh.writer = _Writer()
    arbiter.workers[fresh.pid] = fresh
    relay.dispatch()
    assert len(fresh.writer.sent) == 1 and relay.waiting == []
