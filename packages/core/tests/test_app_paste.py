"""PasteDeploy: --paste ini files, logging config detection and the server runner."""

import sys
import textwrap

import pytest

from gunicorn.app import pasterapp
from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.errors import ConfigError

INI = textwrap.dedent("""
    [app:main]
    paste.app_factory = pastedapp:make_app
    greeting = main

    [app:other]
    paste.app_factory = pastedapp:make_app
    greeting = other
""")

LOGGING = textwrap.dedent("""
    [loggers]
    keys = root

    [handlers]
    keys = console

    [formatters]
    keys = plain

    [logger_root]
    level = WARNING
    handlers = console

    [handler_console]
    class = StreamHandler
    args = (sys.stderr,)
    formatter = plain

    [formatter_plain]
    format = %(message)s
""")

APP = textwrap.dedent("""
    def make_app(global_conf, greeting="none", **local_conf):
        def app(environ, start_response):
            return [greeting.encode(), repr(sorted(global_conf)).encode()]
        return app
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    (tmp_path / "pastedapp.py").write_text(APP)
    (tmp_path / "app.ini").write_text(INI)
    (tmp_path / "logged.ini").write_text(INI + LOGGING)
    yield tmp_path
    sys.modules.pop("pastedapp", None)


def paste_app(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["gunicorn", *argv])
    return WSGIApplication("usage", prog="gunicorn")


def test_has_logging_config(project):
    assert not pasterapp.has_logging_config(str(project / "app.ini"))
    assert pasterapp.has_logging_config(str(project / "logged.ini"))


def test_paste_without_pastedeploy_is_a_clear_error(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "paste.deploy", None)
    with pytest.raises(ConfigError, match="pip install PasteDeploy"):
        pasterapp.get_wsgi_app(str(project / "app.ini"))


def test_paste_flag_sets_proc_name_and_logconfig(project, monkeypatch):
    app = paste_app(monkeypatch, "--paste", "logged.ini")
    assert app.cfg.default_proc_name == str(project / "logged.ini")
    assert app.cfg.logconfig == str(project / "logged.ini")
    plain = paste_app(monkeypatch, "--paste", "app.ini")
    assert plain.cfg.logconfig is None


def test_paste_flag_missing_file(project, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        paste_app(monkeypatch, "--paste", "absent.ini")
    assert info.value.code == 1
    assert "absent.ini" in capsys.readouterr().err


def _has_pastedeploy():
    try:
        import paste.deploy  # noqa: F401
    except ImportError:
        return False
    return True


needs_pastedeploy = pytest.mark.skipif(not _has_pastedeploy(),
                                       reason="PasteDeploy is not installed (optional)")


@needs_pastedeploy
def test_paste_loads_the_app_and_section(project, monkeypatch):
    app = paste_app(monkeypatch, "--paste", "app.ini", "--paste-global", "site=x")
    body = app.wsgi()({}, None)
    assert body[0] == b"main"
    assert b"'site'" in body[1]
    other = paste_app(monkeypatch, "--paste", "app.ini#other")
    assert other.wsgi()({}, None)[0] == b"other"


@needs_pastedeploy
def test_get_wsgi_app(project):
    app = pasterapp.get_wsgi_app(str(project / "app.ini"), name="other")
    assert app({}, None)[0] == b"other"


def test_serve_builds_config_from_ini(project, monkeypatch):
    ran = []
    monkeypatch.setattr(WSGIApplication, "run", lambda self: ran.append(self))
    (project / "gunicorn.conf.py").write_text("workers = 3\n")

    def wsgi(environ, start_response):
        return []

    pasterapp.serve(wsgi, {"__file__": str(project / "logged.ini")},
                    host="127.0.0.1", port="9300", timeout="12")
    (app,) = ran
    assert app.cfg.bind == ["127.0.0.1:9300"]
    assert app.cfg.workers == 3
    assert app.cfg.timeout == 12
    assert app.cfg.logconfig == str(project / "logged.ini")
    assert app.wsgi() is wsgi


def test_serve_host_list_and_config_option(project, monkeypatch):
    ran = []
    monkeypatch.setattr(WSGIApplication, "run", lambda self: ran.append(self))
    (project / "other.conf.py").write_text("workers = 5\n")
    pasterapp.serve(lambda e, s: [], {"__file__": str(project / "app.ini")},
                    host="127.0.0.1:1,127.0.0.1:2", config=str(project / "other.conf.py"))
    (app,) = ran
    assert app.cfg.bind == ["127.0.0.1:1", "127.0.0.1:2"]
    assert app.cfg.workers == 5
