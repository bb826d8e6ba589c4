"""``python -m gunicorn`` as a subprocess: --version, -h, --check-config, --print-config."""

import pytest
from gunicorn_testsupport import run_gunicorn as gunicorn

from gunicorn import __version__

APP = "def application(environ, start_response):\n    return [b'ok']\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def printed(result):
    """``{name: value}`` from --print-config output."""
    values = {}
    for line in result.stdout.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            values[name.strip()] = value.strip()
    return values


def test_version(project):
    result = gunicorn(project, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gunicorn (version {__version__})"


def test_help_is_grouped_by_section(project):
    result = gunicorn(project, "-h")
    assert result.returncode == 0
    out = result.stdout
    assert "usage: gunicorn [OPTIONS] [APP_MODULE]" in out
    for heading in ("Server Socket:", "Worker Processes:", "Logging:", "SSL:", "Control:"):
        assert heading in out
    assert out.index("Server Socket:") < out.index("-b ADDRESS, --bind ADDRESS")


def test_check_config_ok(project):
    result = gunicorn(project, "--check-config", "app")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_check_config_missing_attribute(project):
    result = gunicorn(project, "--check-config", "app:nope")
    assert result.returncode == 1
    assert "Failed to find attribute 'nope' in 'app'." in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_broken_module_shows_traceback(project):
    (project / "broken.py").write_text("import no_such_dependency_xyz\n")
    result = gunicorn(project, "--check-config", "broken")
    assert result.returncode == 1
    assert "no_such_dependency_xyz" in result.stderr


def test_print_config_with_precedence(project):
    (project / "gunicorn.conf.py").write_text(
        "workers = 3\ntimeout = 40\nkeepalive = 9\nbind = ['127.0.0.1:9200']\n")
    result = gunicorn(project, "--print-config", "--keep-alive", "11", "app",
                      env={"GUNICORN_CMD_ARGS": "--timeout 50 --keep-alive 10",
                           "WEB_CONCURRENCY": "8"})
    assert result.returncode == 0, result.stderr
    values = printed(result)
    assert values["workers"] == "3"
    assert values["timeout"] == "50"
    assert values["keepalive"] == "11"
    assert values["bind"] == "['127.0.0.1:9200']"
    assert values["graceful_timeout"] == "30"
    assert values["on_starting"] == "<OnStarting.on_starting()>"


def test_env_defaults_reach_the_cli(project):
    result = gunicorn(project, "--print-config", "app",
                      env={"PORT": "5005", "WEB_CONCURRENCY": "4"})
    values = printed(result)
    assert values["bind"] == "['0.0.0.0:5005']"
    assert values["workers"] == "4"


def test_config_error_names_setting_file_and_line(project):
    (project / "gunicorn.conf.py").write_text("import os\n\nworkers = 'abc'\n")
    result = gunicorn(project, "--check-config", "app")
    assert result.returncode == 1
    assert "Error: Invalid value for workers: 'abc'" in result.stderr
    assert "gunicorn.conf.py line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_that_raises(project):
    (project / "conf.py").write_text("x = 1\ny = undefined_name\n")
    result = gunicorn(project, "-c", "conf.py", "--check-config", "app")
    assert result.returncode == 1
    assert "conf.py line 2" in result.stderr
    assert "NameError" in result.stderr


def test_python_module_config(project):
    (project / "settingsmod.py").write_text("workers = 6\n")
    result = gunicorn(project, "-c", "python:settingsmod", "--print-config", "app",
                      env={"PYTHONPATH": str(project)})
    assert result.returncode == 0, result.stderr
    assert printed(result)["workers"] == "6"


def test_misspelt_flag(project):
    result = gunicorn(project, "--workerz", "2", "app")
    assert result.returncode == 2
    assert "unrecognized arguments: --workerz" in result.stderr


def test_bad_int_flag(project):
    result = gunicorn(project, "--workers", "many", "app")
    assert result.returncode == 2
    assert "argument -w/--workers: invalid int value: 'many'" in result.stderr


def test_no_app_module(project):
    result = gunicorn(project, "--check-config")
    assert result.returncode == 1
    assert "Error: No application module specified." in result.stderr
