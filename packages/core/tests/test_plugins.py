"""Plugins: API version, entry points, missing-extension messages, a real test plugin.

The test plugin is a module plus a ``*.dist-info`` directory (METADATA and
entry_points.txt) in a temporary directory: on ``sys.path`` (or PYTHONPATH)
that is all ``importlib.metadata`` needs to see an installed distribution.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from gunicorn import plugins
from gunicorn.importing import load_class
from gunicorn.plugins import MissingExtension

PLUGIN_MODULE = textwrap.dedent("""
    from gunicorn.config import Setting, validate_pos_int


    class PluginWorker:
        setup_called = False

        @classmethod
        def setup(cls):
            cls.setup_called = True


    class PluginCompanion:
        pass


    def plugin_command(arbiter, args):
        return {"plugin": True}
""")

PLUGIN_SETTINGS = textwrap.dedent("""
    from gunicorn.config import Setting, validate_pos_int


    class PluginLevel(Setting):
        name = "testplugin_level"
        section = "Test Plugin"
        cli = ["--testplugin-level"]
        meta = "INT"
        validator = validate_pos_int
        type = int
        default = 1
        desc = "How loud the test plugin is."
""")

ENTRY_POINTS = textwrap.dedent("""
    [gunicorn.workers]
    testplugin = gunicorn_testplugin:PluginWorker

    [gunicorn.settings]
    testplugin = gunicorn_testplugin_settings

    [gunicorn.companions]
    testcompanion = gunicorn_testplugin:PluginCompanion

    [gunicorn.control_commands]
    testcmd = gunicorn_testplugin:plugin_command
""")


@pytest.fixture
def plugin_dir(tmp_path):
    (tmp_path / "gunicorn_testplugin.py").write_text(PLUGIN_MODULE)
    (tmp_path / "gunicorn_testplugin_settings.py").write_text(PLUGIN_SETTINGS)
    info = tmp_path / "gunicorn_testplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: gunicorn-testplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (tmp_path / "app.py").write_text("def application(environ, start_response):\n"
                                     "    return []\n")
    return tmp_path


@pytest.fixture
def installed(plugin_dir, monkeypatch):
    from gunicorn.settings import load_all

    # Settings plugins load once per process: do it before ours is visible so
    # this process's registry stays the core one.
    load_all()
    monkeypatch.syspath_prepend(str(plugin_dir))
    yield plugin_dir
    sys.modules.pop("gunicorn_testplugin", None)


def test_plugin_api_version():
    assert plugins.PLUGIN_API_VERSION == (1, 0)
    assert plugins.require_plugin_api("gunicorn-uwsgi", 1) == (1, 0)


def test_plugin_api_mismatch_is_clear():
    with pytest.raises(RuntimeError) as info:
        plugins.require_plugin_api("gunicorn-http2", 2)
    message = str(info.value)
    assert "gunicorn-http2 needs gunicorn plugin API 2.x" in message
    assert "provides 1.0" in message


def test_entry_point_lookup(installed):
    names = {ep.name for ep in plugins.entry_points(plugins.WORKERS_GROUP)}
    assert "testplugin" in names
    worker = plugins.load_entry_point(plugins.WORKERS_GROUP, "testplugin")
    assert worker.__name__ == "PluginWorker"
    with pytest.raises(LookupError):
        plugins.load_entry_point(plugins.WORKERS_GROUP, "absent-worker")
    assert plugins.find_entry_point(plugins.WORKERS_GROUP, "testplugin",
                                    dist="gunicorn_testplugin") is not None
    assert plugins.find_entry_point(plugins.WORKERS_GROUP, "testplugin",
                                    dist="someone-else") is None


def test_worker_class_from_entry_point(installed):
    worker = load_class("testplugin")
    assert worker.__name__ == "PluginWorker"
    assert load_class("egg:gunicorn-testplugin#testplugin") is worker


def test_config_worker_class_calls_setup(installed):
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("worker_class", "testplugin")
    worker = cfg.worker_class
    assert worker.setup_called


def test_companions_and_control_commands(installed):
    companions = dict(plugins.companions())
    assert companions["testcompanion"].__name__ == "PluginCompanion"
    commands = plugins.control_commands()
    assert commands["testcmd"](None, []) == {"plugin": True}


@pytest.mark.parametrize("kind, name, text", [
    ("worker class", "gevent",
     "worker class 'gevent' needs the gunicorn-workers-async distribution: "
     "pip install gunicorn[gevent]"),
    ("worker class", "gevent_pywsgi",
     "worker class 'gevent_pywsgi' needs the gunicorn-workers-async distribution: "
     "pip install gunicorn[gevent]"),
    ("worker class", "eventlet",
     "worker class 'eventlet' needs the gunicorn-workers-async distribution: "
     "pip install gunicorn[eventlet]"),
    ("worker class", "asgi",
     "worker class 'asgi' needs the gunicorn-workers-async distribution: "
     "pip install gunicorn[asgi]"),
    ("protocol", "uwsgi",
     "protocol 'uwsgi' needs the gunicorn-uwsgi distribution: pip install gunicorn[uwsgi]"),
    ("http_protocols", "h2",
     "http_protocols 'h2' needs the gunicorn-http2 distribution: "
     "pip install gunicorn[http2]"),
    ("setting", "dirty_workers",
     "setting 'dirty_workers' needs the gunicorn-dirty distribution: "
     "pip install gunicorn[dirty]"),
])
def test_missing_sibling_messages(monkeypatch, kind, name, text):
    monkeypatch.setattr(plugins, "_module_available", lambda module: False)
    error = plugins.missing_extension(kind, name)
    assert isinstance(error, MissingExtension) and isinstance(error, RuntimeError)
    assert str(error) == text


def test_missing_library_message(monkeypatch):
    monkeypatch.setattr(plugins, "_module_available", lambda module: module != "h2")
    assert str(plugins.missing_extension("http_protocols", "h2")) == (
        "http_protocols 'h2' needs the 'h2' package: pip install gunicorn[http2]")


def test_core_names_need_nothing():
    assert plugins.missing_extension("worker class", "sync") is None
    assert plugins.missing_extension("protocol", "http") is None
    assert plugins.missing_extension("http_protocols", "h1") is None


def test_check_config(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setattr(plugins, "_module_available", lambda module: False)
    cfg = Config()
    plugins.check_config(cfg)
    cfg.set("worker_class", "tornado")
    with pytest.raises(MissingExtension, match="worker class 'tornado'"):
        plugins.check_config(cfg)
    cfg.set("worker_class", "sync")
    cfg.set("dirty_apps", ["m:App"])
    with pytest.raises(MissingExtension, match="dirty_apps"):
        plugins.check_config(cfg)


def test_load_protocol(monkeypatch):
    monkeypatch.setattr(plugins, "_module_available", lambda module: False)
    with pytest.raises(MissingExtension, match=r"gunicorn\[uwsgi\]"):
        plugins.load_protocol("uwsgi")
    with pytest.raises(RuntimeError, match="unknown protocol 'spdy'"):
        plugins.load_protocol("spdy")


def test_core_never_imports_siblings():
    # Only the settings modules installed siblings register (and their packages)
    # are loaded with the config; their protocols and workers wait to be asked for.
    code = ("import sys, gunicorn.config, gunicorn.plugins, gunicorn.app.wsgiapp, "
            "gunicorn.importing\n"
            "from importlib.metadata import entry_points\n"
            "cfg = gunicorn.config.Config(); str(cfg); cfg.parser()\n"
            "allowed = set()\n"
            "for ep in entry_points(group='gunicorn.settings'):\n"
            "    parts = ep.value.split(':')[0].split('.')\n"
            "    allowed |= {'.'.join(parts[:i]) for i in range(1, len(parts) + 1)}\n"
            "bad = [m for m in sys.modules if m not in allowed and (m.split('.')[0] in "
            "('h2', 'gevent', 'uvloop', 'eventlet', 'tornado') or m.startswith("
            "('gunicorn.http2', 'gunicorn.dirty', 'gunicorn.uwsgi')))]\n"
            "print(bad)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def run_gunicorn(cwd, *args):
    env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "gunicorn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=20)


def test_subprocess_finds_plugin_worker_and_setting(plugin_dir):
    result = run_gunicorn(plugin_dir, "--print-config", "-k", "testplugin",
                          "--testplugin-level", "3", "app")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["testplugin_level", "=", "3"] in lines
    assert ["worker_class", "=", "testplugin"] in lines


def test_subprocess_plugin_setting_in_help(plugin_dir):
    result = run_gunicorn(plugin_dir, "-h")
    assert "Test Plugin:" in result.stdout
    assert "--testplugin-level INT" in result.stdout


def test_subprocess_unknown_worker(plugin_dir):
    result = run_gunicorn(plugin_dir, "--check-config", "-k", "nosuchworker", "app")
    assert result.returncode == 1
    assert "nosuchworker" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("worker", ["testplugin", "egg:gunicorn-testplugin#testplugin"])
def test_subprocess_check_config_finds_plugin_worker(plugin_dir, worker):
    result = run_gunicorn(plugin_dir, "--check-config", "-k", worker, "app")
    assert result.returncode == 0, result.stderr
