"""Application loading in-process: embedding, precedence, config files, run()."""

import os
import re
import sys
import textwrap
import types

import pytest

from gunicorn.app.base import Application, BaseApplication
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.errors import ConfigError


def hello(environ, start_response):
    start_response("200 OK", [])
    return [b"hello"]


class DummyWorker:
    """Stands in for a worker class so --check-config needs no real worker module."""


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A clean cwd, argv, sys.path and environment for an Application."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    for var in ("PORT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "myapp.py").write_text(
        "def application(environ, start_response):\n    return [b'myapp']\n")
    sys.modules.pop("myapp", None)
    yield tmp_path
    sys.modules.pop("myapp", None)
    sys.modules.pop("__config__", None)


def wsgi_app(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["gunicorn", *argv])
    return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn")


def load_fails(monkeypatch, capsys, *argv):
    with pytest.raises(SystemExit) as info:
        wsgi_app(monkeypatch, *argv)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --- embedding ------------------------------------------------------------------

class StandaloneApplication(BaseApplication):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        self.loads = 0
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self):
        self.loads += 1
        return self.application


def test_embedding_base_application():
    app = StandaloneApplication(hello, {"bind": "127.0.0.1:9001", "workers": 3})
    assert app.cfg.workers == 3
    assert app.cfg.address == [("127.0.0.1", 9001)]
    assert app.usage is None and app.prog is None and app.logger is None
    assert app.wsgi() is hello and app.wsgi() is hello
    assert app.loads == 1


def test_embedding_reload_builds_a_fresh_config():
    app = StandaloneApplication(hello, {"workers": 3})
    first = app.cfg
    app.options["workers"] = 5
    app.reload()
    assert app.cfg is not first and app.cfg.workers == 5


def test_reload_with_a_bad_value_raises_and_keeps_the_config():
    app = StandaloneApplication(hello, {"workers": 3})
    first = app.cfg
    app.options["workers"] = "many"
    with pytest.raises(ValueError, match="many"):
        app.reload()
    # the arbiter goes on with what it had (a HUP must not take the server down)
    assert app.cfg is first and app.cfg.workers == 3


def test_embedding_bad_value_exits_1(capsys):
    with pytest.raises(SystemExit) as info:
        StandaloneApplication(hello, {"workers": "many"})
    assert info.value.code == 1
    assert "Error:" in capsys.readouterr().err


def test_base_application_abstract_methods():
    class Bare(BaseApplication):
        def load_config(self):
            pass

    bare = Bare()
    with pytest.raises(NotImplementedError):
        bare.load()
    with pytest.raises(NotImplementedError):
        bare.init(None, None, None)


def test_run_starts_the_arbiter(monkeypatch):
    started = []

    class FakeArbiter:
        def __init__(self, app):
            self.app = app

        def run(self):
            started.append(self.app)

    monkeypatch.setitem(sys.modules, "gunicorn.arbiter",
                        types.SimpleNamespace(Arbiter=FakeArbiter))
    app = StandaloneApplication(hello)
    app.run()
    assert started == [app]


def test_run_reports_runtime_error(monkeypatch, capsys):
    class FailingArbiter:
        def __init__(self, app):
            raise RuntimeError("cannot bind")

    monkeypatch.setitem(sys.modules, "gunicorn.arbiter",
                        types.SimpleNamespace(Arbiter=FailingArbiter))
    with pytest.raises(SystemExit) as info:
        StandaloneApplication(hello).run()
    assert info.value.code == 1
    assert "Error: cannot bind" in capsys.readouterr().err


# --- precedence -----------------------------------------------------------------

def test_precedence_defaults_init_file_env_cli(sandbox, monkeypatch):
    class InitApp(WSGIApplication):
        def init(self, parser, opts, args):
            super().init(parser, opts, args)
            return {"workers": 2, "timeout": 2, "backlog": 2, "keepalive": 2, "threads": 2}

    (sandbox / "gunicorn.conf.py").write_text(
        "timeout = 3\nbacklog = 3\nkeepalive = 3\nthreads = 3\n")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--backlog 4 --keep-alive 4 --threads 4")
    monkeypatch.setattr(sys, "argv", ["gunicorn", "--threads", "5", "myapp"])
    cfg = InitApp("usage").cfg
    assert cfg.graceful_timeout == 30                   # default
    assert cfg.workers == 2                             # init()
    assert cfg.timeout == 3                             # config file
    assert (cfg.backlog, cfg.keepalive) == (4, 4)       # GUNICORN_CMD_ARGS
    assert cfg.threads == 5                             # command line


def test_cmd_args_env_may_name_the_config_file(sandbox, monkeypatch):
    (sandbox / "other.py").write_text("workers = 7\n")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "-c other.py")
    assert wsgi_app(monkeypatch, "myapp").cfg.workers == 7


def test_command_line_config_wins_over_env_config(sandbox, monkeypatch):
    (sandbox / "a.py").write_text("workers = 7\n")
    (sandbox / "b.py").write_text("workers = 8\n")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "-c a.py")
    assert wsgi_app(monkeypatch, "-c", "b.py", "myapp").cfg.workers == 8


def test_default_config_file_is_read(sandbox, monkeypatch):
    (sandbox / "gunicorn.conf.py").write_text("workers = 6\n")
    assert wsgi_app(monkeypatch, "myapp").cfg.workers == 6


def test_file_prefix_and_non_py_extension(sandbox, monkeypatch, capsys):
    (sandbox / "conf.txt").write_text("workers = 9\n")
    assert wsgi_app(monkeypatch, "-c", "file:conf.txt", "myapp").cfg.workers == 9
    assert "valid Python extension" in capsys.readouterr().err


def test_python_module_config(sandbox, monkeypatch):
    (sandbox / "mysettings.py").write_text("workers = 4\nbind = ['127.0.0.1:9100']\n")
    monkeypatch.syspath_prepend(str(sandbox))
    try:
        cfg = wsgi_app(monkeypatch, "-c", "python:mysettings", "myapp").cfg
    finally:
        sys.modules.pop("mysettings", None)
    assert cfg.workers == 4 and cfg.bind == ["127.0.0.1:9100"]


def test_unknown_names_in_config_file_are_ignored(sandbox, monkeypatch):
    (sandbox / "gunicorn.conf.py").write_text(
        "import os\nWORKERS = 99\nhelper = 'x'\nworkers = 2\n")
    assert wsgi_app(monkeypatch, "myapp").cfg.workers == 2


def test_config_file_hooks_and_wsgi_app(sandbox, monkeypatch):
    (sandbox / "gunicorn.conf.py").write_text(textwrap.dedent("""
        wsgi_app = "myapp:application"
        def on_starting(server):
            return "started"
    """))
    app = wsgi_app(monkeypatch)
    assert app.app_uri == "myapp:application"
    assert app.cfg.on_starting(None) == "started"
    assert app.wsgi()({}, None) == [b"myapp"]


def test_positional_app_overrides_wsgi_app(sandbox, monkeypatch):
    (sandbox / "gunicorn.conf.py").write_text("wsgi_app = 'other:app'\n")
    app = wsgi_app(monkeypatch, "myapp")
    assert app.app_uri == "myapp"
    assert app.cfg.default_proc_name == "myapp"


# --- errors ---------------------------------------------------------------------

def test_invalid_value_names_setting_file_and_line(sandbox, monkeypatch, capsys):
    (sandbox / "gunicorn.conf.py").write_text("bind = ':1'\n\nworkers = 'abc'\n")
    err = load_fails(monkeypatch, capsys, "myapp")
    assert "Error: Invalid value for workers: 'abc'" in err
    assert f"{sandbox / 'gunicorn.conf.py'} line 3" in err


def test_bad_hook_arity_in_config_file(sandbox, monkeypatch, capsys):
    (sandbox / "conf.py").write_text("def pre_fork(server):\n    pass\n")
    err = load_fails(monkeypatch, capsys, "-c", "conf.py", "myapp")
    assert "Invalid value for pre_fork" in err
    assert "conf.py line 1" in err and "arity of: 2" in err


def test_config_file_that_raises(sandbox, monkeypatch, capsys):
    (sandbox / "conf.py").write_text("workers = 2\n\nraise ValueError('boom')\n")
    err = load_fails(monkeypatch, capsys, "-c", "conf.py", "myapp")
    assert "conf.py line 3" in err and "ValueError: boom" in err


def test_config_file_with_syntax_error(sandbox, monkeypatch, capsys):
    (sandbox / "conf.py").write_text("workers = 2\nbind = [\n")
    err = load_fails(monkeypatch, capsys, "-c", "conf.py", "myapp")
    assert "conf.py line 2" in err and "SyntaxError" in err


def test_missing_config_file(sandbox, monkeypatch, capsys):
    err = load_fails(monkeypatch, capsys, "-c", "absent.py", "myapp")
    assert "'absent.py' doesn't exist" in err


def test_invalid_value_on_command_line(sandbox, monkeypatch, capsys):
    err = load_fails(monkeypatch, capsys, "--reload-engine", "fsevents", "myapp")
    assert "Invalid value for reload_engine: 'fsevents' (from the command line)" in err


def test_invalid_value_in_env_args(sandbox, monkeypatch, capsys):
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--http2-max-frame-size 10")
    err = load_fails(monkeypatch, capsys, "myapp")
    assert "http2_max_frame_size" in err and "GUNICORN_CMD_ARGS" in err


def test_misspelt_flag_is_an_argparse_error(sandbox, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        wsgi_app(monkeypatch, "--wokers", "3", "myapp")
    assert info.value.code == 2
    assert "unrecognized arguments: --wokers" in capsys.readouterr().err


def test_no_application_module(sandbox, monkeypatch, capsys):
    err = load_fails(monkeypatch, capsys)
    assert "No application module specified." in err


# --- chdir, pythonpath, run modes -----------------------------------------------

def test_chdir_before_load(sandbox, monkeypatch):
    appdir = sandbox / "elsewhere"
    appdir.mkdir()
    (appdir / "farapp.py").write_text("def application(e, s):\n    return [b'far']\n")
    try:
        app = wsgi_app(monkeypatch, "--chdir", str(appdir), "farapp")
        assert os.getcwd() == str(appdir)
        assert app.wsgi()({}, None) == [b"far"]
    finally:
        sys.modules.pop("farapp", None)


def run_app(monkeypatch, *argv):
    app = wsgi_app(monkeypatch, "-k", f"{__name__}.DummyWorker", *argv)
    with pytest.raises(SystemExit) as info:
        app.run()
    return info.value.code


def test_check_config_loads_the_app(sandbox, monkeypatch, capsys):
    assert run_app(monkeypatch, "--check-config", "myapp") == 0
    assert run_app(monkeypatch, "--check-config", "myapp:nope") == 1
    assert "Failed to find attribute 'nope' in 'myapp'." in capsys.readouterr().err


def test_check_config_applies_pythonpath(sandbox, monkeypatch):
    libdir = sandbox / "lib"
    libdir.mkdir()
    (libdir / "libapp.py").write_text("application = lambda e, s: []\n")
    try:
        assert run_app(monkeypatch, "--check-config", "--pythonpath", str(libdir),
                       "libapp") == 0
    finally:
        sys.modules.pop("libapp", None)
    assert str(libdir) in sys.path


def test_print_config(sandbox, monkeypatch, capsys):
    assert run_app(monkeypatch, "--print-config", "-w", "5", "myapp") == 0
    out = capsys.readouterr().out
    assert any(line.split() == ["workers", "=", "5"] for line in out.splitlines())


def test_check_config_reports_missing_extension(sandbox, monkeypatch, capsys):
    from gunicorn import plugins

    monkeypatch.setattr(plugins, "_module_available", lambda name: False)
    app = wsgi_app(monkeypatch, "--check-config", "--protocol", "uwsgi", "myapp")
    with pytest.raises(SystemExit) as info:
        app.run()
    assert info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        "Error: protocol 'uwsgi' needs the gunicorn-uwsgi distribution: "
        "pip install gunicorn[uwsgi]")


def test_wsgiapp_load_dispatch(sandbox, monkeypatch):
    app = wsgi_app(monkeypatch, "myapp")
    calls = []
    monkeypatch.setattr(app, "load_wsgiapp", lambda: calls.append("wsgi") or hello)
    monkeypatch.setattr(app, "load_pasteapp", lambda: calls.append("paste") or hello)
    app.load()
    app.cfg.set("paste", "x.ini")
    app.load()
    assert calls == ["wsgi", "paste"]


def test_application_is_the_cli_base():
    assert issubclass(WSGIApplication, Application)
    assert issubclass(ConfigError, Exception)


def test_run_reports_missing_worker_sibling_before_starting(sandbox, monkeypatch, capsys):
    from gunicorn import plugins

    started = []
    monkeypatch.setitem(sys.modules, "gunicorn.arbiter",
                        types.SimpleNamespace(Arbiter=lambda app: started.append(app)))
    monkeypatch.setattr(plugins, "_module_available", lambda name: False)
    app = wsgi_app(monkeypatch, "-k", "gevent", "myapp")
    with pytest.raises(SystemExit) as info:
        app.run()
    assert info.value.code == 1 and started == []
    assert capsys.readouterr().err.strip() == (
        "Error: worker class 'gevent' needs the gunicorn-workers-async distribution: "
        "pip install gunicorn[gevent]")


def test_spew_traces_lines_after_reload(tmp_path):
    import subprocess

    script = tmp_path / "spewing.py"
    script.write_text(textwrap.dedent("""
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):
            def load_config(self):
                self.cfg.set("spew", True)

            def load(self):
                return None

        def traced():
            marker = "spewed-line"
            return marker

        app = App()
        app.reload()
        traced()
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 0, result.stderr
    assert re.search(r'spewing.py:\d+: +marker = "spewed-line"', result.stderr)
