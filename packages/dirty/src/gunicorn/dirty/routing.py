"""Which apps a new dirty worker loads, and which worker answers a request."""

import itertools

from gunicorn.dirty.app import (
    app_stash_tables,
    app_worker_limit,
    check_app_class,
    parse_dirty_app_spec,
)

# a running count of picks: each worker remembers when it was last chosen
_PICKS = itertools.count(1)


class AppPlan:
    """One ``dirty_apps`` entry: its import path and how many workers load it (None: all)."""

    __slots__ = ("import_path", "limit", "stashes")

    def __init__(self, import_path, limit, stashes=()):
        self.import_path = import_path
        self.limit = limit
        self.stashes = list(stashes)   # stash tables the app declares (``stashes``)

    def __repr__(self):
        return f"AppPlan({self.import_path!r}, limit={self.limit!r})"


def plan_apps(specs):
    """An ``AppPlan`` per spec, in order; a path named twice keeps its first entry.

    Reading a class's ``workers`` attribute imports its module here, in the
    dirty arbiter, so a broken app fails once at start with its own message.
    """
    plans = {}
    for spec in specs:
        import_path, _ = parse_dirty_app_spec(spec)
        if import_path not in plans:
            check_app_class(import_path)
            plans[import_path] = AppPlan(import_path, app_worker_limit(spec),
                                         app_stash_tables(import_path))
    return list(plans.values())


def minimum_workers(plans):
    """The fewest dirty workers that still give every limited app its N workers."""
    limits = [plan.limit for plan in plans if plan.limit]
    return max([1, *limits])


def apps_for_new_worker(plans, workers):
    """The import paths a worker spawned now should load.

    ``workers`` are the live, non-retiring workers: an app with a limit goes
    only where it is still short of its N, so a replacement for a dead worker
    takes back exactly what that worker had.
    """
    apps = []
    for plan in plans:
        holders = sum(1 for w in workers if plan.import_path in w.apps)
        if plan.limit is None or holders < plan.limit:
            apps.append(plan.import_path)
    return apps


def pick_worker(workers, import_path, threads):
    """The booted worker with a free thread to send a request for ``import_path`` to, or None.

    A worker never gets more calls than it has threads: the rest wait in the
    arbiter, so a call stuck behind a timed-out one is never lost with it.
    Among free workers the least loaded, then the one used least recently,
    so sequential calls take turns.
    """
    best = None
    best_key = None
    for worker in workers:
        if worker.stopping or not worker.booted or import_path not in worker.apps:
            continue
        busy = len(worker.calls)
        if busy >= threads:
            continue
        key = (busy, worker.last_picked, worker.age)
        if best_key is None or key < best_key:
            best, best_key = worker, key
    if best is not None:
        best.last_picked = next(_PICKS)
    return best


def pick_workers_to_remove(workers, count, plans):
    """``count`` workers whose loss costs the fewest app instances; on ties the idlest
    (a busy one would make its calls wait for it to finish), then the newest."""
    chosen = []
    remaining = list(workers)
    for _ in range(min(count, len(remaining))):
        def loss(worker):
            # apps that would drop below their share if this worker went
            lost = 0
            for plan in plans:
                if plan.import_path not in worker.apps:
                    continue
                others = sum(1 for w in remaining if w is not worker and plan.import_path in w.apps)
                if others == 0 or (plan.limit is not None and others < plan.limit):
                    lost += 1
            return (lost, len(worker.calls), -worker.age)

        victim = min(remaining, key=loss)
        remaining.remove(victim)
        chosen.append(victim)
    return chosen
