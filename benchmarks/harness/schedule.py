"""Run order: which server measures which scenario when, so that compared rows run
side by side in time and no server is always first or last."""


def _pair_key(spec):
    # ours-X and upstream-X are compared, so they belong next to each other.
    return spec.worker_class if spec.venv in ("ours", "upstream") else spec.name


def comparison_order(specs, rnd):
    """`specs` reordered for round `rnd`: compared pairs stay adjacent, the pairs rotate
    by one each round, and which member of a pair goes first flips every round."""
    groups = []
    for spec in specs:
        for group in groups:
            if _pair_key(group[0]) == _pair_key(spec):
                group.append(spec)
                break
        else:
            groups.append([spec])
    if not groups:
        return []
    shift = rnd % len(groups)
    ordered = []
    for group in groups[shift:] + groups[:shift]:
        ordered += list(reversed(group)) if rnd % 2 else group
    return ordered


def modes(plan):
    """Split (scenario, specs) pairs into plain HTTP and behind-nginx groups, in order."""
    for via_nginx in (False, True):
        mode = [(sc, specs) for sc, specs in plan if sc.via_nginx_uwsgi == via_nginx]
        if mode:
            yield via_nginx, mode
