"""Log files: file targets, reopen after rotation, capture_output, close_on_exec, logconfig*."""

import json
import logging
import os
import subprocess
import sys
import textwrap
import types

import pytest
from test_glogging import fake_cfg, restore_logging  # noqa: F401

from gunicorn.glogging import Logger


def read(path):
    with open(path) as f:
        return f.read()


def test_error_and_access_files(tmp_path):
    errors, access = tmp_path / "error.log", tmp_path / "access.log"
    log = Logger(fake_cfg(errorlog=str(errors), accesslog=str(access)))
    log.warning("careful %d", 1)
    log.access(types.SimpleNamespace(status="200 OK", headers=[], sent=5), None,
               {"REMOTE_ADDR": "10.0.0.1", "REQUEST_METHOD": "GET", "RAW_URI": "/",
                "SERVER_PROTOCOL": "HTTP/1.0"}, None)
    for handler in log.error_handlers + log.access_handlers:
        handler.flush()
    assert "[WARNING] careful 1" in read(errors)
    assert read(access).startswith('10.0.0.1 - - [')
    assert '"GET / HTTP/1.0" 200 5 "-" "-"' in read(access)
    assert all(isinstance(h, logging.FileHandler) for h in log.error_handlers + log.access_handlers)


def test_reopen_files_after_rotation(tmp_path):
    errors, access = tmp_path / "error.log", tmp_path / "access.log"
    log = Logger(fake_cfg(errorlog=str(errors), accesslog=str(access)))
    log.info("before")
    log.access_log.info("access-before")
    os.rename(errors, tmp_path / "error.log.1")
    os.rename(access, tmp_path / "access.log.1")
    log.reopen_files()
    log.info("after")
    log.access_log.info("access-after")
    assert "before" in read(tmp_path / "error.log.1")
    assert "after" not in read(tmp_path / "error.log.1")
    assert "after" in read(errors) and "before" not in read(errors)
    assert read(tmp_path / "access.log.1") == "access-before\n"
    assert read(access) == "access-after\n"


def test_reopen_files_covers_foreign_file_handlers(tmp_path):
    app_file = tmp_path / "app.log"
    handler = logging.FileHandler(app_file)
    app_log = logging.getLogger("test_glogging_files.app")
    app_log.addHandler(handler)
    try:
        app_log.warning("one")
        os.rename(app_file, tmp_path / "app.log.1")
        Logger(fake_cfg()).reopen_files()
        app_log.warning("two")
        assert read(app_file) == "two\n"
        assert read(tmp_path / "app.log.1") == "one\n"
    finally:
        app_log.removeHandler(handler)
        handler.close()


def test_close_on_exec_marks_file_handlers(tmp_path):
    log = Logger(fake_cfg(errorlog=str(tmp_path / "e.log")))
    fd = log.error_handlers[0].stream.fileno()
    os.set_inheritable(fd, True)
    log.close_on_exec()
    assert os.get_inheritable(fd) is False


CAPTURE_SCRIPT = textwrap.dedent("""
    import os, sys, types
    sys.path.insert(0, {tests!r})
    from test_glogging import fake_cfg
    from gunicorn.glogging import Logger
    log = Logger(fake_cfg(errorlog={path!r}, capture_output=True))
    print("printed to stdout", flush=True)
    os.write(2, b"raw fd 2\\n")
    log.info("logged")
    os.rename({path!r}, {path!r} + ".1")
    log.reopen_files()
    print("after rotation", flush=True)
    log.info("logged again")
""")


def test_capture_output_redirects_fds_1_and_2(tmp_path):
    path = str(tmp_path / "error.log")
    script = CAPTURE_SCRIPT.format(tests=os.path.dirname(__file__), path=path)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    rotated = read(path + ".1")
    assert "printed to stdout" in rotated
    assert "raw fd 2" in rotated
    assert "[INFO] logged" in rotated
    current = read(path)
    assert "after rotation" in current and "logged again" in current
    assert "printed to stdout" not in current


def test_capture_output_ignored_for_stderr_errorlog():
    script = ("import sys; sys.path.insert(0, %r)\n"
              "from test_glogging import fake_cfg\n"
              "from gunicorn.glogging import Logger\n"
              "log = Logger(fake_cfg(capture_output=True))\n"
              "print('still stdout')\n" % os.path.dirname(__file__))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "still stdout\n"


def dict_config(path):
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(name)s|%(levelname)s|%(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path),
                              "formatter": "plain"}},
        "loggers": {
            "gunicorn.error": {"level": "DEBUG", "handlers": ["file"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["file"], "propagate": False},
        },
    }


def flush_all():
    for log in (logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access")):
        for handler in log.handlers:
            handler.flush()


def test_logconfig_dict(tmp_path):
    out = tmp_path / "out.log"
    log = Logger(fake_cfg(logconfig_dict=dict_config(out)))
    log.debug("dbg")
    log.access(types.SimpleNamespace(status=200, headers=[], sent=1), None,
               {"REMOTE_ADDR": "1.2.3.4"}, None)
    flush_all()
    lines = read(out).splitlines()
    assert lines[0] == "gunicorn.error|DEBUG|dbg"
    assert lines[1].startswith("gunicorn.access|INFO|1.2.3.4 - - [")


def test_logconfig_dict_defaults_fill_unset_keys(capsys):
    # Only root given: the default gunicorn.* loggers/handlers still apply.
    log = Logger(fake_cfg(logconfig_dict={"root": {"level": "WARNING", "handlers": []}}))
    log.error("via defaults")
    assert "[ERROR] via defaults" in capsys.readouterr().err


def test_logconfig_dict_error_is_runtime_error():
    bad = {"version": 1, "handlers": {"h": {"class": "no.such.Handler"}}}
    with pytest.raises(RuntimeError):
        Logger(fake_cfg(logconfig_dict=bad))


def test_logconfig_json(tmp_path):
    out = tmp_path / "out.log"
    source = tmp_path / "log.json"
    source.write_text(json.dumps(dict_config(out)))
    log = Logger(fake_cfg(logconfig_json=str(source)))
    log.info("from json")
    flush_all()
    assert read(out) == "gunicorn.error|INFO|from json\n"


def test_logconfig_json_missing_or_invalid(tmp_path):
    with pytest.raises(RuntimeError, match="not found"):
        Logger(fake_cfg(logconfig_json=str(tmp_path / "nope.json")))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(RuntimeError, match="broken.json"):
        Logger(fake_cfg(logconfig_json=str(broken)))


INI = """
[loggers]
keys=root,error,access

[handlers]
keys=file

[formatters]
keys=plain

[logger_root]
level=WARNING
handlers=

[logger_error]
level=DEBUG
handlers=file
propagate=0
qualname=gunicorn.error

[logger_access]
level=INFO
handlers=file
propagate=0
qualname=gunicorn.access

[handler_file]
class=FileHandler
formatter=plain
args=('%(here)s/ini.log', 'a')

[formatter_plain]
format=%(name)s|%(levelname)s|%(message)s
"""


def test_logconfig_ini(tmp_path):
    ini = tmp_path / "logging.ini"
    ini.write_text(INI)
    log = Logger(fake_cfg(logconfig=str(ini)))
    log.debug("from ini")
    log.access_log.info("access from ini")
    flush_all()
    assert read(tmp_path / "ini.log") == (
        "gunicorn.error|DEBUG|from ini\ngunicorn.access|INFO|access from ini\n")


def test_logconfig_ini_missing_file_is_clear_error(tmp_path):
    missing = tmp_path / "missing.ini"
    with pytest.raises(RuntimeError, match="log config '%s' not found" % missing):
        Logger(fake_cfg(logconfig=str(missing)))


def test_logconfig_dict_wins_over_json_and_ini(tmp_path):
    out = tmp_path / "out.log"
    log = Logger(fake_cfg(logconfig_dict=dict_config(out),
                          logconfig_json=str(tmp_path / "absent.json"),
                          logconfig=str(tmp_path / "absent.ini")))
    log.info("dict wins")
    flush_all()
    assert "dict wins" in read(out)
