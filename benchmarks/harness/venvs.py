"""Build and reuse one virtualenv per benchmarked server under benchmarks/.venvs/."""

import json
import os
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)
VENV_ROOT = os.path.join(BENCH_DIR, ".venvs")
MARKER = ".bench-requirements.json"
PIP_TIMEOUT = 900

# Each peer lives alone so its dependency pins cannot change another server's code.
# uvloop sits beside upstream gunicorn so its asgi worker's "auto" loop matches ours;
# the http2 extra brings h2, which upstream needs for --http-protocols h2.
PEER_REQUIREMENTS = {
    "upstream": ["gunicorn[gevent,http2]==27.0.1", "uvloop"],
    "uvicorn": ["uvicorn[standard]"],
    "granian": ["granian"],
    "hypercorn": ["hypercorn", "uvloop"],
    "waitress": ["waitress"],
    "pyuwsgi": ["pyuwsgi"],
}

# Sibling distributions of this checkout, installed into "ours" when their folder exists.
OURS_SIBLINGS = [
    ("packages/workers-async", ["gevent", "uvloop"]),
    ("packages/uwsgi", []),
    # h2 named as well: the h2 scenario needs it whatever packages/http2 declares.
    ("packages/http2", ["h2"]),
]


class VenvError(RuntimeError):
    """A venv could not be built; the message says which and where the log is."""


def venv_python(name):
    return os.path.join(VENV_ROOT, name, "bin", "python")


def ours_requirements():
    """pip argument groups for this checkout: core always, each sibling once it exists."""
    groups = [["-e", os.path.join(REPO_DIR, "packages", "core")]]
    for rel, deps in OURS_SIBLINGS:
        folder = os.path.join(REPO_DIR, rel)
        if os.path.exists(os.path.join(folder, "pyproject.toml")):
            groups.append(["-e", folder, *deps])
    return groups


def requirements_for(name):
    """Groups of pip arguments; the first must install, later ones may fail alone."""
    if name == "ours":
        return ours_requirements()
    return [list(PEER_REQUIREMENTS[name])]


def _read_marker(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure_venv(name, log=print):
    """Return the python of venv `name`, creating or updating it only when needed.

    A sibling of ours that fails to install (work in progress) is logged and retried on
    the next run; core failing makes the whole venv unavailable.
    """
    groups = requirements_for(name)
    root = os.path.join(VENV_ROOT, name)
    python = venv_python(name)
    marker_path = os.path.join(root, MARKER)
    if os.path.exists(python) and _read_marker(marker_path) == groups:
        return python
    os.makedirs(VENV_ROOT, exist_ok=True)
    log_path = os.path.join(VENV_ROOT, name + ".log")
    installed = []
    with open(log_path, "a") as out:
        if not os.path.exists(python):
            log(f"  creating venv {name} ...")
            _run([sys.executable, "-m", "venv", root], out, name, log_path)
        for index, group in enumerate(groups):
            log(f"  installing into {name}: {' '.join(group)}")
            try:
                _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
                     + group, out, name, log_path)
            except VenvError as exc:
                if index == 0:
                    raise
                log(f"  skipped (will retry next run): {exc}")
                continue
            installed.append(group)
    with open(marker_path, "w") as f:
        json.dump(installed, f)
    return python


def _run(argv, out, name, log_path):
    try:
        subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=True,
                       timeout=PIP_TIMEOUT, stdin=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise VenvError(f"venv {name}: pip failed (see {log_path})") from exc


def installed_versions(python, names):
    """Versions of the distributions in `names` installed for `python` (missing ones skipped)."""
    code = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try:\n"
        "        out[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    try:
        done = subprocess.run([python, "-c", code, *names], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
        return json.loads(done.stdout or "{}")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
