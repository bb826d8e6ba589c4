"""The shared test matrix: one session per install set, plus lint, build, bench, fuzz.

``nox`` runs the default matrix (what CI runs): core alone, each sibling with core,
everything together, lint and build. Every install is from this checkout; pip
never fetches the ``gunicorn`` distribution from the index.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = {
    "core": ROOT / "packages" / "core",
    "uwsgi": ROOT / "packages" / "uwsgi",
    "workers-async": ROOT / "packages" / "workers-async",
    "http2": ROOT / "packages" / "http2",
    "dirty": ROOT / "packages" / "dirty",
}
TEST_DEPS = ["pytest>=8", "pytest-timeout", "pytest-xdist", "pytest-rerunfailures", "hypothesis",
             "httpx", "flask", "django", "pastedeploy", "setproctitle", "inotify", "hatchling"]
# Most tests wait on real servers, so a few more processes than cores pay off. A test
# that fails twice in a row fails the run; one rerun absorbs the load spikes of a
# shared 2-core machine without hiding a real bug.
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "-n", os.environ.get("PYTEST_WORKERS", "3"),
               "--reruns", "1", "--reruns-delay", "1"]
# Extra test dependencies of each sibling's own suite.
SIBLING_TEST_DEPS = {
    "uwsgi": [],
    "workers-async": ["starlette", "fastapi", "websockets", "uvloop", "uvicorn-worker",
                      "aiohttp", "gevent", "eventlet", "tornado"],
    "http2": ["h2"],
    "dirty": [],
}

nox.options.sessions = ["lint", "core", "siblings", "async_extra", "all_together", "build"]
nox.options.reuse_existing_virtualenvs = True


def present(name: str) -> bool:
    return (PACKAGES[name] / "pyproject.toml").exists()


def sibling_names() -> list[str]:
    return [name for name in PACKAGES if name != "core" and present(name)]


def install_set(session: nox.Session, names: list[str], deps: list[str]) -> None:
    """Editable installs of core, the test support and ``names`` from this tree, then ``deps``.

    Local distributions go first and without dependencies, so that a test dependency
    which itself requires ``gunicorn`` (uvicorn-worker) finds ours installed and pip
    never fetches the unrelated upstream distribution from the index.
    """
    local = ["-e", str(ROOT / "testsupport")]
    for name in ("core", *names):
        local += ["-e", str(PACKAGES[name])]
    session.install("--no-deps", *local)
    session.install(*deps)
    session.run("python", "-c", CHECK_OURS)


# Fails the session if the gunicorn that imports is not this checkout's.
CHECK_OURS = (
    "import gunicorn, pathlib, sys; "
    f"root = pathlib.Path({str(ROOT)!r}); "
    "ours = all(root in pathlib.Path(p).resolve().parents for p in gunicorn.__path__[:1]); "
    "print('gunicorn', gunicorn.__version__, 'from', gunicorn.__path__); "
    "sys.exit(0 if ours and gunicorn.__version__.startswith('28.') else 'not this checkout')"
)


def pytest(session: nox.Session, *paths: Path) -> None:
    """One pytest run per package: each package's conftest.py stands alone."""
    for path in paths:
        session.run("python", "-m", "pytest", *PYTEST_ARGS, str(path / "tests"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def core(session: nox.Session) -> None:
    """Core alone: the slim install, nothing but the standard library at run time."""
    install_set(session, [], TEST_DEPS)
    pytest(session, PACKAGES["core"])
    # The benchmark harness's own tests (its scheduling, ratios, reports), not a benchmark.
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                str(ROOT / "benchmarks" / "tests"))


@nox.session
@nox.parametrize("name", sibling_names())
def siblings(session: nox.Session, name: str) -> None:
    """One sibling with core only."""
    install_set(session, [name], TEST_DEPS + SIBLING_TEST_DEPS[name])
    pytest(session, PACKAGES[name])


# gunicorn-workers-async with one extra at a time: the library of that extra and the
# tests that need it (the other extras' tests skip, naming what is missing).
ASYNC_EXTRAS = {
    "asgi": (["starlette", "fastapi", "websockets"], []),
    "gevent": (["gevent", "packaging", "websockets"],
               ["test_greenlet_workers.py", "test_tls.py", "test_async_dropin.py",
                "test_greenlet_http2.py"]),
    "eventlet": (["eventlet", "websockets"],
                 ["test_greenlet_workers.py", "test_tls.py", "test_async_dropin.py",
                  "test_greenlet_http2.py"]),
    "tornado": (["tornado"], ["test_tornado_worker.py", "test_async_dropin.py"]),
}


@nox.session
@nox.parametrize("extra", list(ASYNC_EXTRAS))
def async_extra(session: nox.Session, extra: str) -> None:
    """gunicorn-workers-async with core and a single extra installed."""
    libraries, test_files = ASYNC_EXTRAS[extra]
    install_set(session, ["workers-async"], TEST_DEPS + libraries)
    tests = PACKAGES["workers-async"] / "tests"
    targets = [str(tests / name) for name in test_files] or [str(tests)]
    session.run("python", "-m", "pytest", *PYTEST_ARGS, *targets, *session.posargs)


@nox.session
def all_together(session: nox.Session) -> None:
    """Every distribution installed at once: every suite must still pass."""
    names = sibling_names()
    deps = sorted({d for n in names for d in SIBLING_TEST_DEPS[n]})
    install_set(session, names, TEST_DEPS + deps)
    pytest(session, PACKAGES["core"], *(PACKAGES[n] for n in names))


@nox.session
def build(session: nox.Session) -> None:
    """Wheel and sdist of every package; each installed alone into a fresh venv."""
    session.install("build")
    dist = ROOT / ".nox" / "dist"
    names = ["core", *sibling_names()]
    for name in names:
        session.run("python", "-m", "build", "-q", "--outdir", str(dist / name), str(PACKAGES[name]))
    core_wheel = next((dist / "core").glob("*.whl"))
    for name in names:
        venv = ROOT / ".nox" / f"alone-{name}"
        session.run("python", "-m", "venv", "--clear", str(venv), external=True)
        py = venv / "bin" / "python"
        wheels = [str(core_wheel)]
        if name != "core":
            wheels.append(str(next((dist / name).glob("*.whl"))))
        # the sibling's deps other than core are installed from the index; core comes from dist
        session.run(str(py), "-m", "pip", "install", "-q", "--find-links", str(dist / "core"),
                    *wheels, external=True)
        session.run(str(venv / "bin" / "gunicorn"), "--version", external=True)
        session.run(str(venv / "bin" / "gunicornc"), "--version", external=True)
        session.run(str(py), "-m", "pip", "check", external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks against upstream gunicorn and peers (not part of CI)."""
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs, external=True)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Bounded atheris run over the HTTP/1.1 parser (not part of the default matrix)."""
    install_set(session, [], ["atheris"])
    seconds = os.environ.get("FUZZ_SECONDS", "60")
    session.run("python", str(PACKAGES["core"] / "tests" / "fuzz" / "fuzz_http_parser.py"),
                f"-max_total_time={seconds}")
