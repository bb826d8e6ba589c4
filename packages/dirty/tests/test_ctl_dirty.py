"""gunicornc's show dirty / dirty add / dirty remove / show all, answered by the dirty arbiter."""

import pytest
from dirty_server_support import (
    ECHO,
    SINGLE,
    all_gone,
    booted_workers,
    call,
    children,
    control_ready,
    dirty_server,
    gunicornc,
    gunicornc_error,
    worker_pids,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = dirty_server(tmp_path_factory.mktemp("ctl"), workers=2, apps=(ECHO, SINGLE))
    with server:
        booted_workers(server, 2)
        yield server


def test_show_dirty_lists_the_arbiter_workers_and_apps(srv):
    status = booted_workers(srv, 2)
    reply = gunicornc(srv, "show dirty")   # the CLI, as a user would run it
    assert reply["pid"] == status["pid"]
    assert status["enabled"] is True
    assert status["pid"] in children(srv.pid)
    assert worker_pids(status) == children(status["pid"])
    for w in status["workers"]:
        assert {"pid", "age", "apps", "booted"} <= set(w)
    apps = {a["import_path"]: a for a in status["apps"]}
    assert apps[ECHO]["current_workers"] == 2 and apps[ECHO]["worker_count"] is None
    assert apps[SINGLE]["current_workers"] == 1 and apps[SINGLE]["worker_count"] == 1


def test_dirty_add_and_remove_through_manage(tmp_path):
    with dirty_server(tmp_path, workers=1) as srv:
        first = worker_pids(booted_workers(srv, 1))
        added = gunicornc(srv, "dirty add 2")
        assert added["spawned"] == 2 and added["target_workers"] == 3, added
        three = worker_pids(booted_workers(srv, 3))
        assert set(first) < set(three)
        # new workers serve
        seen = {call(srv, ECHO, "whoami")["result"] for _ in range(9)}
        assert seen == set(three)

        removed = gunicornc(srv, "dirty remove")
        assert removed["removed"] == 1 and removed["target_workers"] == 2
        two = worker_pids(booted_workers(srv, 2))
        assert all_gone(sorted(set(three) - set(two))) == []

        # never below one worker
        floor = gunicornc(srv, "dirty remove 5")
        assert floor["removed"] == 1 and floor["target_workers"] == 1 and "reason" in floor
        booted_workers(srv, 1)


def test_show_all_lists_dirty_processes(srv):
    status = booted_workers(srv, 2)
    data = gunicornc(srv, "show all")
    by_type = {}
    for p in data["processes"]:
        by_type.setdefault(p["type"], []).append(p["pid"])
    assert by_type["dirty_arbiter"] == [status["pid"]]
    assert sorted(by_type["dirty"]) == worker_pids(status)
    assert data["dirty_arbiter"]["pid"] == status["pid"]
    assert sorted(w["pid"] for w in data["dirty_workers"]) == worker_pids(status)


BAD_COUNTS = [
    ("dirty add x", "must be an integer"),
    ("dirty remove 0", "at least 1"),
    ("dirty add 1 2", "usage"),
]


def test_bad_counts_are_error_replies(srv):
    before = worker_pids(booted_workers(srv, 2))
    for command, message in BAD_COUNTS:
        error = gunicornc_error(srv, command)
        assert message in error, (command, error)
    # nothing changed
    assert worker_pids(booted_workers(srv, 2)) == before


def test_without_dirty_arbiter_show_dirty_is_disabled_and_add_fails(tmp_path):
    with dirty_server(tmp_path, workers=0) as srv:
        control_ready(srv)
        srv_status = gunicornc(srv, "show dirty")
        assert srv_status["enabled"] is False
        # as upstream: a reply saying so (status 0), not an error
        assert gunicornc(srv, "dirty add") == {"success": False,
                                               "error": "Dirty arbiter not running"}


def test_help_lists_the_dirty_commands_as_upstream(srv):
    shown = gunicornc(srv, "help")["commands"]
    assert shown["show dirty"] == "List dirty workers and apps"
    assert shown["dirty add [N]"] == "Spawn N dirty workers (default 1)"
    assert shown["dirty remove [N]"] == "Remove N dirty workers (default 1)"
