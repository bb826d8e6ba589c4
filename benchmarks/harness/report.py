"""Fold the rounds into medians and same-round ratios; render markdown and JSON."""

import json
import os
import statistics

from .scenarios import skip_reason
from .venvs import venv_python

NOISE_NOTE = (
    "Absolute numbers are noisy on a shared 2-core machine (the load generator runs on "
    "the same cores); only the same-run ratios count."
)


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio_columns(scenario):
    """(title, baseline chooser) pairs: which row each row is divided by."""
    if scenario.via_nginx_uwsgi:
        return [
            ("vs upstream", lambda spec: spec.baselines[0] if spec.baselines else None),
            ("vs pyuwsgi",
             lambda spec: "pyuwsgi" if spec.venv in ("ours", "upstream")
             or spec.name == "python-floor" else None),
        ]
    return [
        ("vs upstream", lambda spec: spec.baselines[0] if spec.baselines else None),
        ("vs uvicorn", lambda spec: "uvicorn" if "uvicorn" in spec.baselines else None),
    ]


def summarize(scenarios, servers, runs):
    """{scenario: {server: row}} where row holds medians, ratios and failures."""
    summary = {}
    for scenario in scenarios:
        rows = {}
        mine = [r for r in runs if r["scenario"] == scenario.name]
        for spec in servers:
            theirs = [r for r in mine if r["server"] == spec.name]
            if not theirs:
                continue
            ok = [r for r in theirs if r["ok"]]
            row = {"rounds": len(theirs), "ok_rounds": len(ok),
                   "failures": [r["error"] for r in theirs if not r["ok"]]}
            if ok:
                for key in ("rps", "p50_ms", "p99_ms", "errors", "requests"):
                    row[key] = _median([r["metrics"][key] for r in ok])
                row["rps_per_round"] = [round(r["metrics"]["rps"], 1) for r in ok]
                row["peak_rss_mib"] = _median(
                    [r["peak_rss_kib"] / 1024 if r.get("peak_rss_kib") else None for r in ok])
                if scenario.idle_connections:
                    row["idle_ready"] = _median([r["idle"].get("ready") for r in ok])
                    row["idle_still_open"] = _median([r["idle"].get("still_open") for r in ok])
            rows[spec.name] = row
        for title, chooser in _ratio_columns(scenario):
            for spec in servers:
                base = chooser(spec)
                # A baseline that was not selected gets no column; one that failed, n/a.
                if spec.name in rows and base in rows:
                    rows[spec.name].setdefault("ratios", {})[title] = _round_ratio(
                        mine, spec.name, base)
        summary[scenario.name] = rows
    return summary


def _round_ratio(runs, name, base):
    """Median over rounds of this row's req/s divided by the baseline's in the same round."""
    by_round = {}
    for r in runs:
        if r["ok"] and r["server"] in (name, base):
            by_round.setdefault(r["round"], {})[r["server"]] = r["metrics"]["rps"]
    ratios = [pair[name] / pair[base] for pair in by_round.values()
              if name in pair and pair.get(base)]
    return _median(ratios)


def skipped(scenarios, servers):
    """{scenario: {server: reason}} for the selected servers that sit a scenario out."""
    out = {}
    for scenario in scenarios:
        reasons = {spec.name: skip_reason(scenario, spec) for spec in servers}
        reasons = {name: why for name, why in reasons.items() if why}
        if reasons:
            out[scenario.name] = reasons
    return out


def _load_line(scenario, config):
    """What generated the load, for a table whose load generator is not wrk."""
    if not scenario.http2:
        return None
    return (f"h2load -t{config['wrk_threads']} -c{config.get('h2_connections', '?')} "
            f"-m{config.get('h2_streams', '?')} -D {config['duration']} after "
            f"{config['warmup']} s warm-up, cleartext HTTP/2 with prior knowledge; p50/p99 "
            f"from h2load's per-request log; errors = errored streams plus 4xx/5xx.")


def _fmt(value, spec="{:.0f}"):
    return "n/a" if value is None else spec.format(value)


def markdown(scenarios, servers, summary, config):
    # The h2 table says how h2load ran; the header names wrk only if a wrk table follows.
    wrk = (f"wrk -t{config['wrk_threads']} -c{config['connections']} -d{config['duration']}s, "
           if any(not sc.http2 for sc in scenarios) else "")
    out = [f"> {NOISE_NOTE}", ">",
           f"> workers={config['workers']}, gthread/waitress threads={config['threads']}, "
           f"{wrk}"
           f"{config['rounds']} round(s) interleaved, median shown; ratios are the median of "
           f"same-round req/s ratios. Load average at start: {config.get('loadavg_start', '?')}.",
           ""]
    if config.get("ours_python") and config["ours_python"] != venv_python("ours"):
        out[-1:-1] = [">", f"> The ours-* rows ran {config['ours_python']}, not this checkout."]
    for scenario in scenarios:
        rows = summary.get(scenario.name, {})
        if not rows:
            continue
        ratio_titles = [t for t, _ in _ratio_columns(scenario)
                        if any(t in row.get("ratios", {}) for row in rows.values())]
        head = ["server", "worker class", "req/s", "p50 ms", "p99 ms", "errors",
                "peak RSS/worker MiB", *ratio_titles]
        if scenario.idle_connections:
            head.append("idle held")
        out += [f"### {scenario.name}: {scenario.title}", ""]
        if _load_line(scenario, config):
            out += [_load_line(scenario, config), ""]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        notes = []
        for spec in servers:
            row = rows.get(spec.name)
            if row is None:
                continue
            if not row["ok_rounds"]:
                reason = (row["failures"][0] or "failed").splitlines()[0][:200]
                cells = [spec.name, spec.worker_class, reason.replace("|", "/")]
                cells += [""] * (len(head) - len(cells))
            else:
                cells = [spec.name, spec.worker_class, _fmt(row["rps"]),
                         _fmt(row["p50_ms"], "{:.2f}"), _fmt(row["p99_ms"], "{:.2f}"),
                         _fmt(row["errors"]), _fmt(row["peak_rss_mib"], "{:.1f}")]
                ratios = row.get("ratios", {})
                for title in ratio_titles:
                    # Blank: no baseline for this row; n/a: baseline had no data.
                    cells.append(_fmt(ratios[title], "{:.2f}x") if title in ratios else "")
                if scenario.idle_connections:
                    cells.append(f"{_fmt(row.get('idle_still_open'))}/"
                                 f"{config['idle_connections']}")
                if row["ok_rounds"] < row["rounds"]:
                    notes.append(f"{spec.name}: {row['rounds'] - row['ok_rounds']} of "
                                 f"{row['rounds']} rounds failed")
            if spec.note:
                notes.append(f"{spec.name}: {spec.note}")
            out.append("| " + " | ".join(cells) + " |")
        for spec in servers:
            why = skip_reason(scenario, spec)
            if why and spec.name not in rows:
                notes.append(f"{spec.name}: skipped: {why}")
        out.append("")
        out += [f"- {n}" for n in notes]
        if notes:
            out.append("")
    return "\n".join(out)


def write_json(directory, stamp, payload):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{stamp}.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path
