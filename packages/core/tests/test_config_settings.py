"""Every row of the settings contract (settings.tsv): flags, section and default."""

import ast
import csv
import os
import ssl
from pathlib import Path

import pytest

from gunicorn.config import Config, validate_pos_int

# The settings contract (names, flags, defaults of upstream gunicorn) kept with the tests;
# GUNICORN_SETTINGS_TSV points at another copy to check against.
TSV_CANDIDATES = [
    Path(os.environ.get("GUNICORN_SETTINGS_TSV", "/nonexistent")),
    Path(__file__).resolve().parent / "data" / "settings.tsv",
]
TSV = next((p for p in TSV_CANDIDATES if p.is_file()), None)
ROWS = list(csv.DictReader(TSV.open(), delimiter="\t")) if TSV else []

# Defaults that depend on the machine or the environment, checked separately.
COMPUTED = {"chdir", "user", "group", "control_socket", "syslog_addr"}
EXPRESSIONS = {"ssl.PROTOCOL_TLS (2)": ssl.PROTOCOL_TLS, "ssl.CERT_NONE (0)": ssl.CERT_NONE,
               "0o600 (384)": 0o600}

pytestmark = pytest.mark.skipif(TSV is None, reason="shared/reference/settings.tsv not found")


def row_id(row):
    return row["name"]


@pytest.fixture(scope="module")
def cfg():
    return Config()


@pytest.fixture(scope="module")
def parser_options(cfg):
    return {opt for action in cfg.parser()._actions for opt in action.option_strings}


def test_contract_and_registry_list_the_same_settings(cfg):
    assert ROWS, "settings.tsv has no rows"
    assert {row["name"] for row in ROWS} <= set(cfg.settings)


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_flags_and_section(row, cfg, parser_options):
    setting = cfg.settings[row["name"]]
    flags = [] if row["cli_flags"] == "-" else row["cli_flags"].split(",")
    assert list(setting.cli or []) == flags
    assert setting.section == row["section"]
    for flag in flags:
        assert flag in parser_options


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_default(row, cfg, monkeypatch):
    name = row["name"]
    if name in COMPUTED:
        pytest.skip(f"{name}'s default depends on the machine: see test_computed_defaults")
    for var in ("PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "SENDFILE"):
        monkeypatch.delenv(var, raising=False)
    fresh = Config()
    value = fresh.settings[name].get()
    text = row["default"]
    if text.startswith("hook("):
        assert callable(value)
        params = text[len("hook("):-1].split(", ")
        assert fresh.settings[name].validator(value) is not None
        assert _positional_count(value) == len(params)
        return
    expected_text = text.split(" (")[0] if not text.startswith("'%(h)s") else text
    if text in EXPRESSIONS:
        expected = EXPRESSIONS[text]
    else:
        expected = ast.literal_eval(expected_text)
    # the stored value is the validated default, e.g. a comma string becomes a list
    assert value == fresh.settings[name].validator(expected)


def _positional_count(func):
    import inspect

    return sum(1 for p in inspect.signature(func).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def test_computed_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    cfg = Config()
    assert cfg.chdir == str(tmp_path)
    assert cfg.user == os.geteuid() and cfg.uid == os.geteuid()
    assert cfg.group == os.getegid() and cfg.gid == os.getegid()
    assert cfg.control_socket == str(tmp_path / "gunicorn.ctl")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Config().control_socket == str(tmp_path / ".gunicorn" / "gunicorn.ctl")
    assert Config().syslog_addr.startswith(("udp://", "unix://"))


@pytest.mark.parametrize("var, value, name, expected", [
    ("PORT", "5001", "bind", ["0.0.0.0:5001"]),
    ("WEB_CONCURRENCY", "7", "workers", 7),
    ("FORWARDED_ALLOW_IPS", "10.0.0.1,10.1.0.0/16", "forwarded_allow_ips",
     ["10.0.0.1", "10.1.0.0/16"]),
])
def test_environment_defaults(monkeypatch, var, value, name, expected):
    monkeypatch.setenv(var, value)
    assert getattr(Config(), name) == expected


@pytest.mark.parametrize("env, flag, expected", [
    (None, [], True),
    ("y", [], True),
    ("TRUE", [], True),
    ("0", [], False),
    ("no", [], False),
    ("1", ["--no-sendfile"], False),
])
def test_sendfile(monkeypatch, env, flag, expected):
    if env is None:
        monkeypatch.delenv("SENDFILE", raising=False)
    else:
        monkeypatch.setenv("SENDFILE", env)
    cfg = Config()
    args = cfg.parser().parse_args(flag)
    if args.sendfile is not None:
        cfg.set("sendfile", args.sendfile)
    assert cfg.sendfile is expected


def test_every_flag_parses(cfg):
    """Each flag can be given on the command line and its value validates."""
    samples = {"int": "3", "STRING": "x"}
    parser = cfg.parser()
    for setting in cfg.settings.values():
        if not setting.cli:
            continue
        flag = setting.cli[-1]
        if setting.action in ("store_true", "store_const"):
            argv = [flag]
        elif setting.name in ("bind", "statsd_host"):
            argv = [flag, "127.0.0.1:9"]
        elif setting.name in ("user", "group"):
            argv = [flag, "0"]
        elif setting.name == "chdir":
            argv = [flag, "."]
        elif setting.name == "reload_extra_files":
            argv = [flag, __file__]
        elif setting.validator.__name__ == "_validate_choice":
            argv = [flag, setting.validator.choices[0]]
        elif setting.name in ("proxy_protocol", "http2_cleartext"):
            argv = [flag, "off"]
        elif setting.name == "http_protocols":
            argv = [flag, "h1"]
        elif setting.name == "reload_engine":
            argv = [flag, "poll"]
        elif setting.name == "dirty_apps":
            argv = [flag, "mod:App"]
        elif setting.name in ("forwarded_allow_ips", "proxy_allow_ips", "uwsgi_allow_ips"):
            argv = [flag, "10.0.0.1"]
        elif setting.name == "http2_max_frame_size":
            argv = [flag, "20000"]
        elif (setting.type is not None and setting.type is not str) or \
                setting.validator is validate_pos_int:
            argv = [flag, samples["int"]]
        else:
            argv = [flag, samples["STRING"]]
        value = getattr(parser.parse_args(argv), setting.name)
        assert value is not None, flag
        fresh = Config()
        fresh.set(setting.name, value)
