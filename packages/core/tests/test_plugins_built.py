"""A plugin distribution built with hatchling and pip-installed inside the test.

It registers a worker class, a setting (with its own command-line flag) and a
protocol through core's entry-point groups; the real server then uses all three.
"""

import subprocess
import sys
import textwrap

import httpx
import pytest
from gunicorn_testsupport import ServerProcess

pytest.importorskip("hatchling", reason="building the plugin needs hatchling (a test dependency)")

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "gunicorn-builtplugin"
version = "1.0"

[project.entry-points."gunicorn.workers"]
greeting = "builtplugin.worker:GreetingWorker"

[project.entry-points."gunicorn.settings"]
builtplugin = "builtplugin.settings"

[project.entry-points."gunicorn.protocols"]
shout = "builtplugin.protocol:ShoutProtocol"

[tool.hatch.build.targets.wheel]
packages = ["builtplugin"]
"""

SETTINGS = '''
from gunicorn.config import Setting, validate_string


class Greeting(Setting):
    name = "greeting"
    section = "Built Plugin"
    cli = ["--greeting"]
    meta = "TEXT"
    validator = validate_string
    default = "hello"
    desc = "What the greeting worker tells the app."
'''

WORKER = '''
import os

from gunicorn.workers.sync import SyncWorker


class GreetingWorker(SyncWorker):
    def init_process(self):
        os.environ["PLUGIN_GREETING"] = self.cfg.greeting
        super().init_process()
'''

PROTOCOL = '''
from gunicorn.http.events import Response
from gunicorn.http.protocol import HTTP1Protocol


class ShoutProtocol(HTTP1Protocol):
    """HTTP/1.1, with every response carrying an extra header."""

    def send(self, event):
        if isinstance(event, Response):
            event.headers = list(event.headers) + [("X-Shout", "yes")]
        return super().send(event)
'''

APP = '''
import os


def app(environ, start_response):
    body = os.environ.get("PLUGIN_GREETING", "none").encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("builtplugin")
    src = root / "src"
    (src / "builtplugin").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "builtplugin" / "__init__.py").write_text("")
    (src / "builtplugin" / "settings.py").write_text(SETTINGS)
    (src / "builtplugin" / "worker.py").write_text(WORKER)
    (src / "builtplugin" / "protocol.py").write_text(PROTOCOL)
    target = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", "--no-index", "--target", str(target), str(src)],
                   check=True, timeout=120)
    (root / "app.py").write_text(textwrap.dedent(APP))
    return root


def env_for(site):
    return {"PYTHONPATH": str(site / "site")}


def test_installed_plugin_is_a_real_distribution(site):
    dist_infos = list((site / "site").glob("gunicorn_builtplugin-1.0.dist-info"))
    assert dist_infos, list((site / "site").iterdir())
    assert "gunicorn.workers" in (dist_infos[0] / "entry_points.txt").read_text()


def test_plugin_setting_reaches_cli_and_print_config(site):
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", "--greeting", "hej",
                          "-k", "greeting", "app:app"], cwd=site, env={**env_for(site)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "greeting" in out.stdout and "hej" in out.stdout


def test_server_uses_plugin_worker_setting_and_protocol(site):
    with ServerProcess("-k", "greeting", "--greeting", "bonjour", "--protocol", "shout",
                       "app:app", cwd=site, env=env_for(site)) as server:
        response = httpx.get(server.url("/"), timeout=10)
    assert response.text == "bonjour"
    assert response.headers["x-shout"] == "yes"


def test_missing_sibling_worker_names_the_extra(site):
    out = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "-k", "tornado",
                          "app:app"], cwd=site, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    if out.returncode == 0:
        pytest.skip("gunicorn-workers-async is installed here, so tornado is not missing")
    assert "pip install gunicorn[tornado]" in out.stderr
    assert "Traceback" not in out.stderr
