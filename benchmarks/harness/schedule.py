"""Run order: which server measures which scenario when, so that compared rows run
side by side in time and no server is always first or last."""

from .scenarios import MODES


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
    """Split (scenario, specs) pairs by how the servers are started for them (plain
    HTTP, cleartext HTTP/2, behind nginx), in that order: (mode, pairs)."""
    for name in MODES:
        pairs = [(sc, specs) for sc, specs in plan if sc.mode == name]
        if pairs:
            yield name, pairs
