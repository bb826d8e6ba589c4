"""Validators: turn a raw setting value (CLI string, config-file object) into its type.

Each raises ``TypeError``, ``ValueError`` or ``ConfigError`` with a message that
names the bad value; the caller adds the setting's name and where it came from.
"""

import glob
import inspect
import ipaddress
import os
import re
import sys
import warnings

from gunicorn.errors import ConfigError

RELOAD_ENGINES = ("auto", "poll", "inotify")


def validate_bool(val):
    if val is None:
        return None
    if isinstance(val, bool):
        return val
    if not isinstance(val, str):
        raise TypeError(f"Invalid type for casting: {val}")
    lowered = val.lower().strip()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"Invalid boolean: {val}")


def validate_dict(val):
    if not isinstance(val, dict):
        raise TypeError(f"Value is not a dictionary: {val} ")
    return val


def validate_pos_int(val):
    if isinstance(val, str):
        # int(x, 0) so octal (0o22, 022 is rejected by Python) and hex work, as upstream
        val = int(val.strip(), 0)
    else:
        val = int(val)
    if val < 0:
        raise ValueError(f"Value must be positive: {val}")
    return val


def validate_ssl_version(val):
    import ssl

    default = ssl.PROTOCOL_TLS
    if isinstance(val, str):
        text = val.strip()
        if text.isdigit():
            val = int(text)
        else:
            val = getattr(ssl, text if text.startswith("PROTOCOL_") else "PROTOCOL_" + text,
                          text)
    if val != default:
        sys.stderr.write("Warning: option `ssl_version` is deprecated and it is ignored. "
                         "Use ssl_context instead.\n")
    return val


def validate_string(val):
    if val is None:
        return None
    if not isinstance(val, str):
        raise TypeError(f"Not a string: {val}")
    return val.strip()


def validate_file_exists(val):
    if val is None:
        return None
    if not os.path.exists(val):
        raise ValueError(f"File {val} does not exists.")
    return val


def validate_list_string(val):
    if not val:
        return []
    if isinstance(val, str):
        val = [val]
    return [validate_string(v) for v in val]


def validate_list_of_existing_files(val):
    return [validate_file_exists(v) for v in validate_list_string(val)]


_GLOB_CHARS = re.compile(r"[*?\[]")


def validate_files_or_globs(val):
    """Existing paths, or glob patterns (expanded again each reload cycle)."""
    items = validate_list_string(val)
    for item in items:
        if not _GLOB_CHARS.search(item):
            validate_file_exists(item)
        elif not glob.glob(item, recursive=True):
            warnings.warn(f"Pattern {item} currently matches no files.", RuntimeWarning,
                          stacklevel=2)
    return items


def validate_string_to_list(val):
    """``"a, b,c"`` -> ``["a", "b", "c"]``; a list is taken item by item."""
    if isinstance(val, (list, tuple)):
        return [validate_string(v) for v in val if v]
    val = validate_string(val)
    if not val:
        return []
    return [v.strip() for v in val.split(",") if v.strip()]


def validate_string_to_addr_list(val):
    """Comma list of IP addresses or CIDR networks, or ``*`` for any peer."""
    val = validate_string_to_list(val)
    for addr in val:
        if addr == "*":
            continue
        # strict, as upstream: 10.0.0.1/8 (host bits set) is a typo, not a network
        ipaddress.ip_network(addr)
    return val


def validate_class(val):
    if inspect.isfunction(val) or inspect.ismethod(val):
        val = val()
    if inspect.isclass(val):
        return val
    return validate_string(val)


def _import_dotted(val):
    try:
        mod_name, obj_name = val.rsplit(".", 1)
    except ValueError:
        raise TypeError(f"Value '{val}' is not import string. "
                        "Format: module[.submodules...].object") from None
    import importlib

    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise TypeError(str(e)) from None
    try:
        return getattr(mod, obj_name)
    except AttributeError:
        raise TypeError(f"Can not load '{obj_name}' from '{mod_name}'") from None


def validate_callable(arity):
    """A validator for hooks: a callable (or dotted ``module.attr``) taking ``arity`` args.

    ``arity == -1`` accepts any callable. A callable with optional trailing
    parameters or ``*args`` is accepted when it can take ``arity`` arguments.
    """

    def _validate_callable(val):
        if isinstance(val, str):
            val = _import_dotted(val)
        if not callable(val):
            raise TypeError(f"Value is not callable: {val}")
        if arity != -1 and not _takes(val, arity):
            raise TypeError(f"Value must have an arity of: {arity}")
        return val

    _validate_callable.arity = arity
    return _validate_callable


def _takes(func, count):
    from gunicorn.importing import accepts_positional, get_arity

    try:
        return get_arity(func) == count or accepts_positional(func, count)
    except (TypeError, ValueError):
        # Builtins without a signature: trust the user.
        return True


def validate_post_request(val):
    """``post_request`` may take (worker, req), (..., environ) or (..., environ, resp)."""
    val = validate_callable(-1)(val)
    for count in (4, 3, 2):
        if _takes(val, count):
            break
    else:
        raise TypeError("Value must have an arity of: 4")
    if count == 4:
        return val
    if count == 3:
        def post_request(worker, req, environ, _resp):
            return val(worker, req, environ)
    else:
        def post_request(worker, req, _environ, _resp):
            return val(worker, req)
    post_request.__wrapped__ = val
    post_request.__qualname__ = getattr(val, "__qualname__", "post_request")
    return post_request


def _account_id(val, default, lookup, kind):
    """A numeric id from an int, a digit string or a name looked up with ``lookup``."""
    if val is None:
        return default()
    if isinstance(val, int):
        return val
    val = validate_string(val)
    if val.isdigit():
        return int(val)
    try:
        return lookup(val)
    except KeyError:
        raise ConfigError(f"No such {kind}: '{val}'") from None


def validate_user(val):
    import pwd

    return _account_id(val, os.geteuid, lambda name: pwd.getpwnam(name).pw_uid, "user")


def validate_group(val):
    import grp

    return _account_id(val, os.getegid, lambda name: grp.getgrnam(name).gr_gid, "group")


def current_directory():
    """The cwd, spelt as ``$PWD`` when that names the same directory (keeps symlinks)."""
    cwd = os.getcwd()
    pwd_env = os.environ.get("PWD")
    if pwd_env:
        try:
            if os.path.samefile(pwd_env, cwd):
                return pwd_env
        except OSError:
            pass
    return cwd


def validate_chdir(val):
    val = validate_string(val)
    path = os.path.abspath(os.path.normpath(os.path.join(current_directory(), val)))
    if not os.path.exists(path):
        raise ConfigError(f"can't chdir to {val!r}")
    return path


def validate_statsd_address(val):
    val = validate_string(val)
    if val is None:
        return None
    # ``unix:8125`` meant host "unix" port 8125 before unix sockets were
    # supported; keep reading it that way.
    legacy = re.match(r"^unix:(\d+)$", val)
    if legacy:
        return ("unix", int(legacy.group(1)))
    from gunicorn.addresses import parse_address

    try:
        return parse_address(val, default_port="8125")
    except RuntimeError:
        raise TypeError("Value must be one of ('host:port', 'unix://PATH')") from None


def validate_reload_engine(val):
    if val not in RELOAD_ENGINES:
        raise ConfigError(f"Invalid reload_engine: {val!r}")
    return val


def validate_hostport(val):
    val = validate_string(val)
    if val is None:
        return None
    elements = val.split(":")
    if len(elements) == 2:
        return (elements[0], int(elements[1]))
    raise TypeError("Value must consist of: hostname:port")


def validate_choice(name, choices):
    """A validator accepting one of ``choices`` (case-insensitive); None means the first."""

    def _validate_choice(val):
        if val is None:
            return choices[0]
        text = validate_string(val).lower()
        if text not in choices:
            raise ValueError(f"Invalid {name}: {val!r} (choose from {', '.join(choices)})")
        return text

    _validate_choice.choices = choices
    return _validate_choice


def validate_int_range(low, high):
    """A validator for an integer in ``low..high`` inclusive."""

    def _validate_int_range(val):
        val = validate_pos_int(val)
        if not low <= val <= high:
            raise ValueError(f"Value must be between {low} and {high}: {val}")
        return val

    return _validate_int_range


HTTP_PROTOCOLS = ("h1", "h2", "h3")
VALID_HTTP_PROTOCOLS = frozenset(HTTP_PROTOCOLS)
# RFC 7301 ALPN protocol IDs of the short names
ALPN_PROTOCOL_MAP = {"h1": "http/1.1", "h2": "h2", "h3": "h3"}


def validate_http_protocols(val):
    """Comma list of h1/h2/h3, in ALPN preference order, without duplicates."""
    items = [item.lower() for item in validate_string_to_list(val)]
    if not items:
        return ["h1"]
    for item in items:
        if item not in HTTP_PROTOCOLS:
            raise ValueError(f"Invalid http protocol: {item!r} (choose from h1, h2, h3)")
    if len(set(items)) != len(items):
        raise ValueError(f"Duplicate protocol in http_protocols: {val!r}")
    return items


def _validate_mode(val, name, modes, when_true, false_words=("false", "no", "0")):
    """One of ``modes``; booleans (and their usual spellings) mean ``when_true`` or off."""
    if val is None or val is False:
        return "off"
    if val is True:
        return when_true
    text = validate_string(val).lower()
    if text in ("true", "yes", "1", "on"):
        return when_true
    if text in false_words:
        return "off"
    if text not in modes:
        raise ValueError(f"Invalid {name}: {val!r} (choose from {', '.join(modes)})")
    return text


HTTP2_CLEARTEXT_MODES = ("off", "prior-knowledge", "upgrade", "both")


def validate_http2_cleartext(val):
    """off/prior-knowledge/upgrade/both; a boolean true means prior-knowledge."""
    return _validate_mode(val, "http2_cleartext", HTTP2_CLEARTEXT_MODES, "prior-knowledge")


PROXY_PROTOCOL_MODES = ("off", "v1", "v2", "auto")


def validate_proxy_protocol(val):
    """off/v1/v2/auto; a boolean true (or the bare flag) means auto."""
    return _validate_mode(val, "proxy_protocol", PROXY_PROTOCOL_MODES, "auto",
                          false_words=("false", "no", "0", "none", ""))


def validate_dirty_apps(val):
    """``module:Class[:N]`` specs; parsed by gunicorn-dirty, so only listed here."""
    return validate_list_string(val)


def auto_int(text):
    """argparse ``type`` for ints that may be written in octal or hex (e.g. umask).

    A leading zero followed by digits is octal, as in C and a shell's umask
    (``--umask 0022``, ``--control-socket-mode 0660``), as upstream reads it;
    Python's own literals (``0o22``, ``0x12``, ``18``) work too.
    """
    text = text.strip()
    if len(text) > 1 and text[0] == "0" and text[1:].isdigit():
        return int(text[1:], 8)
    return int(text, 0)


def validate_http2_stream_limit(val):
    """SETTINGS_MAX_CONCURRENT_STREAMS: at least one stream must be allowed."""
    val = validate_pos_int(val)
    if val < 1:
        raise ValueError(f"HTTP/2 max concurrent streams must be at least 1: {val}")
    return val


# RFC 9113 section 6.9.2: a flow-control window above 2^31-1 is an error.
MAX_WINDOW_SIZE = 2**31 - 1


def validate_http2_window_size(val):
    val = validate_pos_int(val)
    if val > MAX_WINDOW_SIZE:
        raise ValueError(f"HTTP/2 window size must be at most {MAX_WINDOW_SIZE}: {val}")
    return val


# RFC 9113 section 6.5.2: SETTINGS_MAX_FRAME_SIZE must be 2^14..2^24-1.
validate_http2_frame_size = validate_int_range(16384, 16777215)
validate_asgi_loop = validate_choice("asgi_loop", ("auto", "asyncio", "uvloop"))
validate_asgi_lifespan = validate_choice("asgi_lifespan", ("auto", "on", "off"))
validate_http_parser = validate_choice("http_parser", ("auto", "fast", "python"))
validate_header_map_behaviour = validate_choice("header_map", ("drop", "refuse", "dangerous"))
validate_list_of_files_or_patterns = validate_files_or_globs
