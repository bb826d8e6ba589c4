"""Command-line errors found by a differential audit against upstream gunicorn 27.

Each case used to end in a traceback, a worker that failed to boot, or an
``Error:`` line that did not say which setting to change; every config error
must now be one line that names the setting.
"""

import importlib.util
import sys
import textwrap
from types import SimpleNamespace

import pytest
from gunicorn_testsupport import run_gunicorn as gunicorn

from gunicorn import plugins
from gunicorn.addresses import parse_address
from gunicorn.config import Config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent('''
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
    '''))
    return tmp_path


def one_error_line(result):
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- --check-config: the line names the setting -----------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--bind", "127.0.0.1:xx"], "Invalid value for bind: '127.0.0.1:xx': "),
    (["--bind", "fd://x"], "Invalid value for bind: 'fd://x': "),
    (["--bind", "127.0.0.1:99999"], "Invalid value for bind: '127.0.0.1:99999': "),
    (["-k", "nosuchworker"], "Invalid value for worker_class: "),
    (["--logger-class", "nosuch_mod.Logger"], "Invalid value for logger_class: "),
    (["-e", "NOEQUALS"], "Invalid value for raw_env: "),
    (["--protocol", "nosuch"], "Invalid value for protocol: 'nosuch'"),
    (["--certfile", "/nonexistent/cert.pem"], "Invalid value for certfile: "),
    (["-c", "absent.conf.py"], "Invalid value for config: "),
])
def test_check_config_error_names_the_setting(project, args, needle):
    result = gunicorn(project, *args, "--check-config", "app:app")
    assert result.returncode == 1
    assert needle in one_error_line(result)


def test_missing_paste_file_names_the_setting(project):
    result = gunicorn(project, "--check-config", "--paste", "absent.ini")
    assert result.returncode == 1
    assert "Invalid value for paste: " in one_error_line(result)


# -- starting: one line and exit status 1 before any worker -----------------------------

@pytest.mark.parametrize("args, needle", [
    # was an OverflowError traceback from bind() in the master (as upstream)
    (["--bind", "127.0.0.1:99999"], "Invalid value for bind: '127.0.0.1:99999': "),
    # was a ValueError traceback from the master (upstream: a FileNotFoundError one)
    (["--bind", "127.0.0.1:0", "--keyfile", "/nonexistent/key.pem",
      "--certfile", "/nonexistent/cert.pem"], "Invalid value for certfile: "),
    # was a worker that failed to boot on it, exit status 3
    (["--bind", "127.0.0.1:0", "--protocol", "nosuch"], "Invalid value for protocol: "),
])
def test_start_refuses_in_one_line(project, args, needle):
    result = gunicorn(project, *args, "app:app")
    assert result.returncode == 1
    assert needle in one_error_line(result)
    assert "Booting worker" not in result.stderr


def test_paste_without_pastedeploy_fails_before_the_workers(monkeypatch):
    # find_spec answers None for a module recorded as absent
    monkeypatch.setitem(sys.modules, "paste", None)
    monkeypatch.setitem(sys.modules, "paste.deploy", None)
    cfg = SimpleNamespace(worker_class_str="sync", protocol="http", http_protocols=["h1"],
                          paste="site.ini", dirty_apps=[], dirty_workers=0)
    with pytest.raises(RuntimeError, match="Invalid value for paste: 'site.ini' needs the "
                                           "PasteDeploy package"):
        plugins.check_config(cfg)


# -- the pieces ----------------------------------------------------------------------

@pytest.mark.parametrize("netloc", ["127.0.0.1:65536", "127.0.0.1:-1", "[::1]:99999"])
def test_parse_address_refuses_ports_out_of_range(netloc):
    with pytest.raises(RuntimeError, match="is not a valid port number"):
        parse_address(netloc)


@pytest.mark.parametrize("netloc, port", [("127.0.0.1:0", 0), ("127.0.0.1:65535", 65535)])
def test_parse_address_keeps_the_edges(netloc, port):
    assert parse_address(netloc) == ("127.0.0.1", port)


def test_config_properties_name_their_setting():
    cfg = Config()
    cfg.set("bind", ["127.0.0.1:8000", "localhost:http"])
    with pytest.raises(RuntimeError, match=r"^Invalid value for bind: 'localhost:http': "):
        cfg.address  # noqa: B018
    cfg.set("worker_class", "nosuch")
    with pytest.raises(RuntimeError, match="^Invalid value for worker_class: class uri "):
        cfg.worker_class  # noqa: B018
    cfg.set("raw_env", ["A=1", "B"])
    with pytest.raises(RuntimeError, match="^Invalid value for raw_env: environment setting 'B'"):
        cfg.env  # noqa: B018


def test_missing_extension_is_not_reworded(monkeypatch):
    # its own line already says which worker class needs which extra
    monkeypatch.setattr(plugins, "_module_available", lambda module: False)
    cfg = Config()
    cfg.set("worker_class", "tornado")
    with pytest.raises(plugins.MissingExtension, match="^worker class 'tornado' needs"):
        cfg.worker_class  # noqa: B018


def test_known_protocols_pass_check_config():
    cfg = Config()
    plugins.check_config(cfg)  # http
    assert cfg.protocol == "http"


# -- logging and worker settings read at start ----------------------------------------

@pytest.mark.parametrize("args, needle", [
    # upstream: "Error: Error: '...' isn't writable", no setting named
    (["--error-logfile", "/nonexistent/dir/e.log"], "Error: Invalid value for errorlog: "),
    (["--access-logfile", "/nonexistent/dir/a.log"], "Error: Invalid value for accesslog: "),
    (["--log-config", "/nonexistent/log.ini"], "Error: Invalid value for logconfig: "),
    (["--log-config-json", "/nonexistent/log.json"], "Error: Invalid value for logconfig_json: "),
    (["--log-syslog", "--log-syslog-to", "bogus://x"], "Error: Invalid value for syslog_addr: "),
    # upstream: "Unhandled exception in main loop", a traceback and exit status 255
    (["--worker-tmp-dir", "/nonexistent/tmpdir"], "Error: Invalid value for worker_tmp_dir: "),
])
def test_start_names_the_logging_or_worker_setting(project, args, needle):
    result = gunicorn(project, "--bind", "127.0.0.1:0", *args, "app:app")
    assert result.returncode == 1
    assert one_error_line(result).startswith(needle)
    assert "Error: Error:" not in result.stderr
    assert "Booting worker" not in result.stderr


def test_check_config_refuses_a_missing_worker_tmp_dir(project):
    result = gunicorn(project, "--check-config", "--worker-tmp-dir", "/nonexistent/tmpdir",
                      "app:app")
    assert result.returncode == 1
    assert "Invalid value for worker_tmp_dir: " in one_error_line(result)


def test_unreachable_statsd_is_one_warning_line(tmp_path):
    from gunicorn.instrument.statsd import Statsd

    cfg = Config()
    cfg.set("statsd_host", f"unix://{tmp_path / 'absent.sock'}")
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = Statsd(cfg)
    assert logger.sock is None
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    logger.setup(Config())  # the shared gunicorn.error logger back on stderr
    assert "Cannot open statsd socket for statsd_host " in text
    assert "Traceback" not in text


# -- settings read from the environment -----------------------------------------------

def test_bad_web_concurrency_names_workers_and_the_variable(project):
    result = gunicorn(project, "--check-config", "app:app", env={"WEB_CONCURRENCY": "abc"})
    assert result.returncode == 1
    line = one_error_line(result)
    assert "Invalid value for workers: WEB_CONCURRENCY='abc'" in line


def test_unbalanced_quote_in_gunicorn_cmd_args_names_the_variable(project):
    result = gunicorn(project, "--check-config", "app:app", env={"GUNICORN_CMD_ARGS": "--name 'a"})
    assert result.returncode == 1
    assert one_error_line(result) == "Error: GUNICORN_CMD_ARGS: No closing quotation"


# -- gunicornc ------------------------------------------------------------------------

def test_gunicornc_without_a_server_exits_1_as_upstream(tmp_path, capsys):
    from gunicorn.ctl import cli

    assert cli.main(["-s", str(tmp_path / "absent.ctl"), "-c", "show workers"]) == 1
    assert capsys.readouterr().err.startswith("Error: cannot connect to ")


# -- h2 listed where no client can reach it ------------------------------------------

@pytest.mark.parametrize("args, warned", [
    (["--http-protocols", "h2,h1"], True),
    (["--http-protocols", "h2", "--http2-cleartext", "upgrade"], False),
    (["--http-protocols", "h1"], False),
])
def test_unreachable_h2_is_a_warning_as_upstream(project, args, warned):
    result = gunicorn(project, "--check-config", *args, "app:app")
    if "h2" in args[1].split(",") and importlib.util.find_spec("gunicorn.http2") is None:
        # core alone (CI's core session): the missing extra is the error, after the warning
        assert result.returncode == 1
        assert "pip install gunicorn[http2]" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
    assert ("Warning: http_protocols lists h2" in result.stderr) is warned


def test_http2_unreachable_needs_neither_tls_nor_h2c():
    from gunicorn.workers.http2_modes import http2_unreachable

    def cfg(**kw):
        base = dict(http_protocols=["h2", "h1"], is_ssl=False, protocol="http",
                    http2_cleartext="off")
        return SimpleNamespace(**{**base, **kw})

    assert http2_unreachable(cfg())
    assert not http2_unreachable(cfg(is_ssl=True))
    assert not http2_unreachable(cfg(http2_cleartext="prior-knowledge"))
    assert not http2_unreachable(cfg(http_protocols=["h1"]))
    # h2c rides on core's HTTP/1 protocol only
    assert http2_unreachable(cfg(protocol="uwsgi", http2_cleartext="both"))


def test_core_http_protocol_passes_without_distribution_metadata(monkeypatch):
    # A source tree on PYTHONPATH has no entry points at all: the default
    # protocol must still pass (serve.protocol_class falls back to core's own).
    monkeypatch.setattr(plugins, "find_entry_point", lambda group, name: None)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [])
    plugins.check_config(SimpleNamespace(protocol="http", http_protocols=["h1"]))
    with pytest.raises(RuntimeError, match="Invalid value for protocol"):
        plugins.check_config(SimpleNamespace(protocol="nosuch", http_protocols=["h1"]))
