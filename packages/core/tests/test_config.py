"""Config: attribute access, set(), computed properties and validators."""

import ipaddress
import sys
import types

import pytest

from gunicorn import config
from gunicorn.config import KNOWN_SETTINGS, Config, Setting, make_settings
from gunicorn.errors import ConfigError
from gunicorn.plugins import MissingExtension


@pytest.fixture
def cfg():
    return Config()


def test_getattr_returns_value_and_unknown_raises(cfg):
    assert cfg.workers == 1
    with pytest.raises(AttributeError, match="No configuration setting for: nope"):
        _ = cfg.nope


def test_assigning_a_setting_attribute_raises(cfg):
    with pytest.raises(AttributeError, match="Invalid access"):
        cfg.workers = 4
    with pytest.raises(AttributeError):
        cfg.set("nope", 1)


def test_set_validates(cfg):
    cfg.set("workers", "0x10")
    assert cfg.workers == 16
    with pytest.raises(ValueError):
        cfg.set("workers", -1)
    with pytest.raises(ValueError):
        cfg.set("workers", "abc")


def test_known_settings_and_make_settings():
    assert all(issubclass(cls, Setting) for cls in KNOWN_SETTINGS)
    settings = make_settings(ignore=("bind",))
    assert "bind" not in settings and "workers" in settings
    s = settings["workers"]
    for attr in ("name", "section", "cli", "validator", "type", "meta", "action",
                 "default", "short", "desc", "nargs", "const", "order"):
        assert hasattr(s, attr)
    assert s.short and s.desc


def test_defining_a_setting_registers_it():
    class TestOnlySetting(Setting):
        name = "test_only_registered_setting"
        section = "Testing"
        cli = ["--test-only-registered"]
        validator = config.validate_pos_int
        type = int
        default = 5
        desc = "A setting defined by a test."

    try:
        cfg = Config()
        assert cfg.test_only_registered_setting == 5
        args = cfg.parser().parse_args(["--test-only-registered", "9"])
        assert args.test_only_registered_setting == 9
    finally:
        KNOWN_SETTINGS.remove(TestOnlySetting)


def test_parser_groups_flags_by_section(cfg):
    titles = [group.title for group in cfg.parser()._action_groups]
    for section in ("Config File", "Server Socket", "Worker Processes", "SSL", "HTTP/2"):
        assert section in titles


def test_cmd_args_from_env(cfg, monkeypatch):
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    assert cfg.get_cmd_args_from_env() == []
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 3 -b '127.0.0.1:9 x'")
    assert cfg.get_cmd_args_from_env() == ["--workers", "3", "-b", "127.0.0.1:9 x"]


def test_str_lists_every_setting(cfg):
    text = str(cfg)
    assert "workers" in text and "on_starting" in text
    assert "<OnStarting.on_starting()>" in text


# --- computed properties --------------------------------------------------------

class FakeWorker:
    setup_calls = 0

    @classmethod
    def setup(cls):
        cls.setup_calls += 1


class FakeSyncWorker(FakeWorker):
    pass


def test_worker_class_from_class_object_calls_setup(cfg):
    FakeWorker.setup_calls = 0
    cfg.set("worker_class", FakeWorker)
    assert cfg.worker_class is FakeWorker
    assert FakeWorker.setup_calls == 1
    assert cfg.worker_class_str == "FakeWorker"


def test_worker_class_dotted_path(cfg):
    cfg.set("worker_class", f"{__name__}.FakeWorker")
    assert cfg.worker_class is FakeWorker


def test_sync_with_threads_switches_to_gthread(cfg, monkeypatch):
    fake = types.ModuleType("gunicorn.workers.gthread")
    fake.ThreadWorker = type("ThreadWorker", (), {})
    monkeypatch.setitem(sys.modules, "gunicorn.workers.gthread", fake)
    cfg.set("threads", 4)
    assert cfg.worker_class_str == "gthread"
    assert cfg.worker_class is fake.ThreadWorker
    cfg.set("worker_class", f"{__name__}.FakeSyncWorker")
    assert cfg.worker_class is fake.ThreadWorker
    cfg.set("threads", 1)
    assert cfg.worker_class is FakeSyncWorker
    assert cfg.worker_class_str == f"{__name__}.FakeSyncWorker"


def test_worker_class_str_without_threads(cfg):
    assert cfg.worker_class_str == "sync"
    cfg.set("worker_class", "gevent")
    assert cfg.worker_class_str == "gevent"


def test_missing_extension_worker(cfg, monkeypatch):
    from gunicorn import plugins

    monkeypatch.setattr(plugins, "_module_available", lambda name: False)
    cfg.set("worker_class", "eventlet")
    with pytest.raises(MissingExtension) as info:
        _ = cfg.worker_class
    assert str(info.value) == ("worker class 'eventlet' needs the gunicorn-workers-async "
                               "distribution: pip install gunicorn[eventlet]")
    assert "\n" not in str(info.value)


def test_address(cfg):
    cfg.set("bind", ["127.0.0.1:9000", "unix:/tmp/x.sock", "[::1]:81", "fd://5"])
    assert cfg.address == [("127.0.0.1", 9000), "/tmp/x.sock", ("::1", 81), 5]


def test_proc_name(cfg):
    assert cfg.proc_name == "gunicorn"
    cfg.set("default_proc_name", "app:wsgi")
    assert cfg.proc_name == "app:wsgi"
    cfg.set("proc_name", "mine")
    assert cfg.proc_name == "mine"


class FakeLogger:
    installed = False

    @classmethod
    def install(cls):
        cls.installed = True


def test_logger_class(cfg, monkeypatch):
    glogging = types.ModuleType("gunicorn.glogging")
    glogging.Logger = type("Logger", (), {})
    statsd = types.ModuleType("gunicorn.instrument.statsd")
    statsd.Statsd = type("Statsd", (), {})
    monkeypatch.setitem(sys.modules, "gunicorn.glogging", glogging)
    monkeypatch.setitem(sys.modules, "gunicorn.instrument.statsd", statsd)
    assert cfg.logger_class is glogging.Logger
    cfg.set("logger_class", "simple")
    assert cfg.logger_class is glogging.Logger
    cfg.set("statsd_host", "localhost:8125")
    assert cfg.statsd_host == ("localhost", 8125)
    assert cfg.logger_class is statsd.Statsd
    cfg.set("logger_class", f"{__name__}.FakeLogger")
    assert cfg.logger_class is FakeLogger and FakeLogger.installed


def test_is_ssl_and_ssl_options(cfg):
    assert not cfg.is_ssl
    cfg.set("certfile", "cert.pem")
    assert cfg.is_ssl
    opts = cfg.ssl_options
    assert opts["certfile"] == "cert.pem"
    assert {"keyfile", "cert_reqs", "ca_certs", "ciphers", "suppress_ragged_eofs",
            "do_handshake_on_connect", "ssl_version"} <= set(opts)
    assert "bind" not in opts


def test_env(cfg):
    cfg.set("raw_env", ["A=1", "B=x=y", "EMPTY="])
    assert cfg.env == {"A": "1", "B": "x=y", "EMPTY": ""}
    cfg.set("raw_env", ["NOEQUALS"])
    with pytest.raises(RuntimeError, match="NOEQUALS"):
        _ = cfg.env


def test_paste_global_conf(cfg):
    assert cfg.paste_global_conf == {}
    cfg.set("raw_paste_global_conf", ["a=1", r"b\=c=d=e"])
    assert cfg.paste_global_conf == {"a": "1", "b=c": "d=e"}


def test_reuse_port(cfg):
    assert cfg.reuse_port is False
    cfg.set("reuse_port", "true")
    assert cfg.reuse_port is True


def test_allow_networks(cfg):
    assert cfg.forwarded_allow_networks() == [ipaddress.ip_network("127.0.0.1"),
                                              ipaddress.ip_network("::1")]
    cfg.set("forwarded_allow_ips", "*, 10.0.0.0/8")
    assert cfg.forwarded_allow_ips == ["*", "10.0.0.0/8"]
    assert cfg.forwarded_allow_networks() == [ipaddress.ip_network("10.0.0.0/8")]
    cfg.set("proxy_allow_ips", ["192.168.0.1"])
    assert cfg.proxy_allow_networks() == [ipaddress.ip_network("192.168.0.1")]
    for bad in ("not-an-ip", "10.0.0.1/8"):
        with pytest.raises(ValueError):
            cfg.set("proxy_allow_ips", bad)


# --- validators -----------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("true", True), (" False ", False), (None, None)])
def test_validate_bool(raw, expected):
    assert config.validate_bool(raw) is expected


@pytest.mark.parametrize("raw, exc", [("yes", ValueError), (1, TypeError)])
def test_validate_bool_errors(raw, exc):
    with pytest.raises(exc):
        config.validate_bool(raw)


def test_validate_simple_types():
    assert config.validate_pos_int("0o22") == 0o22
    assert config.validate_string("  x ") == "x"
    assert config.validate_list_string("a") == ["a"]
    assert config.validate_list_string(None) == []
    assert config.validate_dict({"a": 1}) == {"a": 1}
    assert config.validate_hostport("h:1") == ("h", 1)
    assert config.validate_string_to_list("a, b,,c") == ["a", "b", "c"]
    with pytest.raises(TypeError):
        config.validate_string(5)
    with pytest.raises(TypeError):
        config.validate_dict([])
    with pytest.raises(TypeError):
        config.validate_hostport("h")


def test_validate_class():
    assert config.validate_class(FakeWorker) is FakeWorker
    assert config.validate_class(lambda: FakeWorker) is FakeWorker
    assert config.validate_class(" a.B ") == "a.B"


def test_validate_user_and_group():
    assert config.validate_user(None) >= 0
    assert config.validate_user("0") == 0
    assert config.validate_user("root") == 0
    assert config.validate_group(5) == 5
    with pytest.raises(ConfigError, match="No such user"):
        config.validate_user("no-such-user-here")
    with pytest.raises(ConfigError, match="No such group"):
        config.validate_group("no-such-group-here")


def test_validate_chdir(tmp_path):
    assert config.validate_chdir(str(tmp_path)) == str(tmp_path)
    with pytest.raises(ConfigError, match="can't chdir"):
        config.validate_chdir(str(tmp_path / "missing"))


def test_validate_file_exists(tmp_path):
    existing = tmp_path / "f"
    existing.write_text("")
    assert config.validate_file_exists(str(existing)) == str(existing)
    with pytest.raises(ValueError):
        config.validate_file_exists(str(tmp_path / "nope"))


def test_validate_reload_engine(cfg):
    for engine in ("auto", "poll", "inotify"):
        cfg.set("reload_engine", engine)
    with pytest.raises(ConfigError):
        cfg.set("reload_engine", "fsevents")


def test_statsd_address():
    assert config.validate_statsd_address("unix:8125") == ("unix", 8125)
    assert config.validate_statsd_address("unix:///tmp/s") == "/tmp/s"
    assert config.validate_statsd_address("host") == ("host", 8125)
    assert config.validate_statsd_address(None) is None


# --- hooks ----------------------------------------------------------------------

def one_arg(server):
    return "called"


def test_hook_arity_is_checked(cfg):
    cfg.set("on_starting", one_arg)
    assert cfg.on_starting("server") == "called"
    with pytest.raises(TypeError, match="arity of: 2"):
        cfg.set("pre_fork", one_arg)
    with pytest.raises(TypeError, match="not callable"):
        cfg.set("when_ready", 5)


def test_hook_as_dotted_string(cfg):
    cfg.set("on_exit", f"{__name__}.one_arg")
    assert cfg.on_exit is one_arg
    with pytest.raises(TypeError, match="not import string"):
        cfg.set("on_exit", "nodots")
    with pytest.raises(TypeError, match="Can not load"):
        cfg.set("on_exit", f"{__name__}.missing")


def test_hooks_with_optional_params_or_varargs_are_accepted(cfg):
    cfg.set("pre_fork", lambda server, worker, extra=None: None)
    cfg.set("pre_fork", lambda *args: None)


def test_default_hooks_do_nothing(cfg):
    assert cfg.on_starting(None) is None
    assert cfg.nworkers_changed(None, 2, None) is None
    assert cfg.post_request(None, None, None, None) is None
    assert cfg.ssl_context(cfg, lambda: "ctx") == "ctx"


@pytest.mark.parametrize("hook, expected", [
    (lambda w, r: ("2", w, r), ("2", "w", "r")),
    (lambda w, r, e: ("3", w, r, e), ("3", "w", "r", "e")),
    (lambda w, r, e, resp: ("4", w, r, e, resp), ("4", "w", "r", "e", "resp")),
])
def test_post_request_accepts_arity_2_to_4(cfg, hook, expected):
    cfg.set("post_request", hook)
    assert cfg.post_request("w", "r", "e", "resp") == expected


def test_post_request_rejects_other_arities(cfg):
    with pytest.raises(TypeError, match="arity of: 4"):
        cfg.set("post_request", lambda w: None)


# --- settings with special rules ------------------------------------------------

def test_request_limits_are_capped_by_the_parser(cfg):
    # upstream keeps the value as given and the HTTP/1 parser applies the caps
    from gunicorn.settings.security import MAX_HEADERS, MAX_REQUEST_LINE

    assert (MAX_REQUEST_LINE, MAX_HEADERS) == (8190, 32768)
    cfg.set("limit_request_line", 10000)
    cfg.set("limit_request_fields", 40000)
    assert (cfg.limit_request_line, cfg.limit_request_fields) == (10000, 40000)
    from gunicorn.http.parser_options import ParserOptions

    opts = ParserOptions(cfg)
    assert (opts.limit_request_line, opts.limit_request_fields) == (8190, 32768)
    cfg.set("limit_request_fields", 0)
    assert ParserOptions(cfg).limit_request_fields == 32768


@pytest.mark.parametrize("argv, expected", [
    ([], "off"), (["--proxy-protocol"], "auto"), (["--proxy-protocol", "v2"], "v2")])
def test_proxy_protocol_flag(cfg, argv, expected):
    value = cfg.parser().parse_args(argv).proxy_protocol
    if value is not None:
        cfg.set("proxy_protocol", value)
    assert cfg.proxy_protocol == expected


@pytest.mark.parametrize("raw, expected", [
    (True, "auto"), (False, "off"), ("V1", "v1"), ("auto", "auto"), ("true", "auto")])
def test_proxy_protocol_values(cfg, raw, expected):
    cfg.set("proxy_protocol", raw)
    assert cfg.proxy_protocol == expected


def test_proxy_protocol_rejects_unknown(cfg):
    with pytest.raises(ValueError):
        cfg.set("proxy_protocol", "v3")


@pytest.mark.parametrize("raw, expected", [
    (True, "prior-knowledge"), (False, "off"), ("upgrade", "upgrade"), ("both", "both"),
    ("TRUE", "prior-knowledge")])
def test_http2_cleartext(cfg, raw, expected):
    cfg.set("http2_cleartext", raw)
    assert cfg.http2_cleartext == expected


def test_http_protocols(cfg):
    assert cfg.http_protocols == ["h1"]
    cfg.set("http_protocols", "h2, h1")
    assert cfg.http_protocols == ["h2", "h1"]
    for bad in ("h1,h1", "h4"):
        with pytest.raises(ValueError):
            cfg.set("http_protocols", bad)
    cfg.set("http_protocols", "")
    assert cfg.http_protocols == ["h1"]


def test_http2_max_frame_size_range(cfg):
    cfg.set("http2_max_frame_size", 16777215)
    with pytest.raises(ValueError):
        cfg.set("http2_max_frame_size", 16383)


@pytest.mark.parametrize("name, good, bad", [
    ("header_map", "refuse", "keep"),
    ("asgi_loop", "uvloop", "trio"),
    ("asgi_lifespan", "off", "maybe"),
    ("http_parser", "python", "c"),
])
def test_choice_settings(cfg, name, good, bad):
    cfg.set(name, good.upper())
    assert getattr(cfg, name) == good
    with pytest.raises(ValueError, match=f"Invalid {name}"):
        cfg.set(name, bad)


def test_dirty_apps(cfg):
    # specs are parsed by gunicorn-dirty; core only keeps the list, as upstream
    cfg.set("dirty_apps", ["pkg.mod:App", " pkg.mod:Other:2 "])
    assert cfg.dirty_apps == ["pkg.mod:App", "pkg.mod:Other:2"]
    cfg.set("dirty_apps", "single:App")
    assert cfg.dirty_apps == ["single:App"]


def test_umask_and_control_socket_mode_accept_literals(cfg):
    args = cfg.parser().parse_args(["-m", "0o22", "--control-socket-mode", "0o640"])
    cfg.set("umask", args.umask)
    cfg.set("control_socket_mode", args.control_socket_mode)
    assert (cfg.umask, cfg.control_socket_mode) == (0o22, 0o640)


@pytest.mark.parametrize("text, value", [
    ("0022", 0o22), ("0660", 0o660), ("0", 0), ("0o600", 0o600), ("0x12", 0x12), ("18", 18)])
def test_umask_and_control_socket_mode_take_leading_zero_octal(cfg, text, value):
    # "0022" is what shells, systemd units and upstream's docs ("Set to 0660") write.
    args = cfg.parser().parse_args(["-m", text, "--control-socket-mode", text])
    cfg.set("umask", args.umask)
    cfg.set("control_socket_mode", args.control_socket_mode)
    assert (cfg.umask, cfg.control_socket_mode) == (value, value)


def test_ssl_version_non_default_warns(cfg, capsys):
    cfg.set("ssl_version", 2)
    assert capsys.readouterr().err == ""
    cfg.set("ssl_version", "TLSv1_2")
    assert "ssl_version" in capsys.readouterr().err


def test_protocol_is_lowercased(cfg):
    cfg.set("protocol", "UWSGI")
    assert cfg.protocol == "uwsgi"


def test_reload_extra_files(cfg, tmp_path):
    existing = tmp_path / "settings.ini"
    existing.write_text("")
    with pytest.warns(RuntimeWarning, match="matches no files"):
        cfg.set("reload_extra_files", [str(existing), str(tmp_path / "*.py")])
    assert cfg.reload_extra_files == [str(existing), str(tmp_path / "*.py")]
    with pytest.raises(ValueError, match="does not exist"):
        cfg.set("reload_extra_files", str(tmp_path / "missing.ini"))


def test_upstream_names_are_importable_from_gunicorn_config():
    from gunicorn.config import (  # noqa: F401
        ALPN_PROTOCOL_MAP,
        PLATFORM,
        VALID_HTTP_PROTOCOLS,
        AccessLogFormat,
        Bind,
        ConfigError,
        NewSSLContext,
        PostRequest,
        WorkerClass,
        get_default_config_file,
        validate_asgi_loop,
        validate_header_map_behaviour,
        validate_http2_frame_size,
        validate_list_of_files_or_patterns,
    )

    assert Bind.name == "bind" and AccessLogFormat.name == "access_log_format"
    assert ALPN_PROTOCOL_MAP["h1"] == "http/1.1"


@pytest.mark.parametrize("name, good, bad", [
    ("http2_max_concurrent_streams", 1, 0),
    ("http2_initial_window_size", 2**31 - 1, 2**31),
    ("http2_max_frame_size", 16384, 16777216),
])
def test_http2_limits(cfg, name, good, bad):
    cfg.set(name, good)
    assert getattr(cfg, name) == good
    with pytest.raises(ValueError):
        cfg.set(name, bad)
