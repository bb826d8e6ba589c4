"""Settings of the "Server Mechanics" section: process, files, proxies, parser leniency."""

import os

from gunicorn.settings.base import Setting
from gunicorn.settings.validators import (
    auto_int,
    current_directory,
    validate_bool,
    validate_chdir,
    validate_dict,
    validate_group,
    validate_header_map_behaviour,
    validate_list_string,
    validate_pos_int,
    validate_proxy_protocol,
    validate_string,
    validate_string_to_addr_list,
    validate_string_to_list,
    validate_user,
)

SECTION = "Server Mechanics"
LOCALHOST_ONLY = "127.0.0.1,::1"


class _Flag(Setting):
    section = SECTION
    action = "store_true"
    validator = validate_bool
    default = False


class _String(Setting):
    section = SECTION
    meta = "STRING"
    validator = validate_string
    default = None


class PreloadApp(_Flag):
    name = "preload_app"
    cli = ["--preload"]
    desc = """\
        Load the application code before forking the worker processes.

        Saves memory and speeds up boot; code is then not reloaded on HUP.
        """


class Sendfile(Setting):
    name = "sendfile"
    section = SECTION
    cli = ["--no-sendfile"]
    validator = validate_bool
    action = "store_const"
    const = False
    default = None
    desc = """\
        Disable the use of ``sendfile()``.

        When not given, the ``SENDFILE`` environment variable decides (y, 1, yes
        or true enable it); sendfile is used if that is unset too.
        """


class ReusePort(_Flag):
    name = "reuse_port"
    cli = ["--reuse-port"]
    desc = """\
        Set the ``SO_REUSEPORT`` flag on the listening socket.
        """


class Chdir(Setting):
    name = "chdir"
    section = SECTION
    cli = ["--chdir"]
    validator = validate_chdir
    default = "."
    desc = """\
        Change directory to this one before loading the application.

        Defaults to the current directory.
        """

    @classmethod
    def initial_default(cls):
        return current_directory()

    def default_text(self):
        return "."


class Daemon(_Flag):
    name = "daemon"
    cli = ["-D", "--daemon"]
    desc = """\
        Daemonize the Gunicorn process: detach it from the terminal.
        """


class Env(Setting):
    name = "raw_env"
    action = "append"
    section = SECTION
    cli = ["-e", "--env"]
    meta = "ENV"
    validator = validate_list_string
    default = []
    desc = """\
        Set an environment variable in the execution environment: ``KEY=VALUE``.

        Repeat the flag for several variables.
        """


class Pidfile(_String):
    name = "pidfile"
    cli = ["-p", "--pid"]
    meta = "FILE"
    desc = """\
        A filename to write the master's PID to; no file when not set.
        """


class WorkerTmpDir(_String):
    name = "worker_tmp_dir"
    cli = ["--worker-tmp-dir"]
    meta = "DIR"
    desc = """\
        The directory workers put their heartbeat temporary files in.

        A memory-backed one (e.g. /dev/shm) avoids blocking on disk I/O.
        """


class User(Setting):
    name = "user"
    section = SECTION
    cli = ["-u", "--user"]
    meta = "USER"
    validator = validate_user
    default = os.geteuid()
    desc = """\
        Switch worker processes to run as this user: a name or a uid.

        Defaults to the effective user of the master.
        """

    @classmethod
    def initial_default(cls):
        return os.geteuid()


class Group(Setting):
    name = "group"
    section = SECTION
    cli = ["-g", "--group"]
    meta = "GROUP"
    validator = validate_group
    default = os.getegid()
    desc = """\
        Switch worker processes to run as this group: a name or a gid.

        Defaults to the effective group of the master.
        """

    @classmethod
    def initial_default(cls):
        return os.getegid()


class Umask(Setting):
    name = "umask"
    section = SECTION
    cli = ["-m", "--umask"]
    meta = "INT"
    validator = validate_pos_int
    type = auto_int
    default = 0
    desc = """\
        A bit mask for the file mode of files Gunicorn writes.

        Accepts Python integer literals such as 0o022 or 0x12.
        """


class Initgroups(_Flag):
    name = "initgroups"
    cli = ["--initgroups"]
    desc = """\
        Give worker processes the supplementary groups of the target user.
        """


class TmpUploadDir(_String):
    name = "tmp_upload_dir"
    meta = "DIR"
    desc = """\
        The directory to store temporary request data in.
        """


class SecureSchemeHeader(Setting):
    name = "secure_scheme_headers"
    section = SECTION
    validator = validate_dict
    default = {
        "X-FORWARDED-PROTOCOL": "ssl",
        "X-FORWARDED-PROTO": "https",
        "X-FORWARDED-SSL": "on",
    }
    desc = """\
        Headers (upper-case name -> value) that mark a request as HTTPS.

        Only trusted from peers in forwarded_allow_ips.
        """

    @classmethod
    def initial_default(cls):
        return dict(cls.default)


class ForwardedAllowIPS(Setting):
    name = "forwarded_allow_ips"
    section = SECTION
    cli = ["--forwarded-allow-ips"]
    meta = "STRING"
    validator = validate_string_to_addr_list
    default = LOCALHOST_ONLY
    desc = """\
        Front-end IPs or networks trusted to set secure headers (comma list).

        ``*`` trusts every peer. The ``FORWARDED_ALLOW_IPS`` environment
        variable, when set, is the default.
        """

    @classmethod
    def initial_default(cls):
        return os.environ.get("FORWARDED_ALLOW_IPS", cls.default)


class PythonPath(_String):
    name = "pythonpath"
    cli = ["--pythonpath"]
    desc = """\
        Comma-separated directories to add to the Python path.
        """


class Paste(_String):
    name = "paste"
    cli = ["--paste", "--paster"]
    desc = """\
        Load a PasteDeploy config file; ``PATH#SECTION`` picks the app section.
        """


class ProxyProtocol(Setting):
    name = "proxy_protocol"
    section = SECTION
    cli = ["--proxy-protocol"]
    meta = "MODE"
    validator = validate_proxy_protocol
    nargs = "?"
    const = "auto"
    default = "off"
    desc = """\
        Accept the PROXY protocol header: off, v1, v2 or auto.

        The bare flag means auto; booleans are accepted in config files.
        """


class ProxyAllowFrom(Setting):
    name = "proxy_allow_ips"
    section = SECTION
    cli = ["--proxy-allow-from"]
    validator = validate_string_to_addr_list
    default = LOCALHOST_ONLY
    desc = """\
        Front-end IPs or networks allowed to send a PROXY header; ``*`` for any.
        """


class Protocol(Setting):
    name = "protocol"
    section = SECTION
    cli = ["--protocol"]
    meta = "STRING"
    validator = validate_string
    default = "http"
    desc = """\
        The wire protocol spoken on the listeners: http, or uwsgi with gunicorn[uwsgi].
        """

    def set(self, val):
        super().set(val)
        if not self.value:
            raise ValueError("protocol must not be empty")
        self.value = self.value.lower()


class UWSGIAllowFrom(Setting):
    name = "uwsgi_allow_ips"
    section = SECTION
    cli = ["--uwsgi-allow-from"]
    validator = validate_string_to_addr_list
    default = LOCALHOST_ONLY
    desc = """\
        Front-end IPs or networks allowed to send uwsgi requests; ``*`` for any.
        """


class PasteGlobalConf(Setting):
    name = "raw_paste_global_conf"
    action = "append"
    section = SECTION
    cli = ["--paste-global"]
    meta = "CONF"
    validator = validate_list_string
    default = []
    desc = """\
        Set a PasteDeploy global config variable: ``KEY=VALUE``.

        Repeat for several; write ``\\=`` for an equals sign inside the key.
        """


class PermitObsoleteFolding(_Flag):
    name = "permit_obsolete_folding"
    cli = ["--permit-obsolete-folding"]
    desc = """\
        Accept obsolete folded (continuation) header lines, joined with a space.
        """


class StripHeaderSpaces(_Flag):
    name = "strip_header_spaces"
    cli = ["--strip-header-spaces"]
    desc = """\
        Strip spaces before the colon of header names. Deprecated and unsafe.
        """


class PermitUnconventionalHTTPMethod(_Flag):
    name = "permit_unconventional_http_method"
    cli = ["--permit-unconventional-http-method"]
    desc = """\
        Accept request methods outside the usual upper-case token form.
        """


class PermitUnconventionalHTTPVersion(_Flag):
    name = "permit_unconventional_http_version"
    cli = ["--permit-unconventional-http-version"]
    desc = """\
        Accept HTTP versions other than 1.0 and 1.1.
        """


class CasefoldHTTPMethod(_Flag):
    name = "casefold_http_method"
    cli = ["--casefold-http-method"]
    desc = """\
        Upper-case received request method names.
        """


class ForwarderHeaders(Setting):
    name = "forwarder_headers"
    section = SECTION
    cli = ["--forwarder-headers"]
    validator = validate_string_to_list
    default = "SCRIPT_NAME,PATH_INFO"
    desc = """\
        Environ variables a trusted front-end may set through headers (comma list).
        """


class HeaderMap(Setting):
    name = "header_map"
    section = SECTION
    cli = ["--header-map"]
    validator = validate_header_map_behaviour
    default = "drop"
    desc = """\
        What to do with header names containing underscores: drop, refuse or dangerous.
        """


class RootPath(Setting):
    name = "root_path"
    section = SECTION
    cli = ["--root-path"]
    meta = "STRING"
    validator = validate_string
    default = ""
    desc = """\
        The ASGI scope ``root_path``: the path the app is mounted at.
        """
