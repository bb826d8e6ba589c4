"""``BaseApplication`` (embedding) and ``Application`` (command line): load config, run."""

import ast
import importlib.machinery
import importlib.util
import os
import sys
import traceback

from gunicorn.config import Config, get_default_config_file
from gunicorn.errors import AppImportError, ConfigError

CONFIG_MODULE_NAME = "__config__"


class ApplicationState:
    """An application's attributes, working directory and ``sys.path``, to put back after a failed reload."""

    def __init__(self, app):
        self.attributes = dict(vars(app))
        try:
            self.cwd = os.getcwd()
        except OSError:
            self.cwd = None  # deleted under us (an old release directory): nothing to go back to
        self.sys_path = list(sys.path)

    def restore(self, app):
        attributes = vars(app)
        attributes.clear()
        attributes.update(self.attributes)
        sys.path[:] = self.sys_path
        if self.cwd is not None:
            os.chdir(self.cwd)


class BaseApplication:
    """An application the arbiter can run; subclass it to embed Gunicorn.

    Subclasses implement ``load_config`` (usually ``self.cfg.set(k, v)``) and
    ``load`` (return the WSGI callable).
    """

    def __init__(self, usage=None, prog=None):
        self.usage = usage
        self.cfg = None
        self.callable = None
        self.prog = prog
        self.logger = None
        self.do_load_config()

    def do_load_config(self):
        """Build a fresh Config and fill it; any error is one line and exit status 1."""
        try:
            self.load_default_config()
            self.load_config()
        except Exception as exc:
            print(f"Error: {exc}", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(1)

    def load_default_config(self):
        self.cfg = Config(self.usage, prog=self.prog)

    def init(self, parser, opts, args):
        raise NotImplementedError

    def load(self):
        raise NotImplementedError

    def load_config(self):
        """Fill ``self.cfg``: called for the first load and on every reload (HUP)."""
        raise NotImplementedError

    def reload(self):
        """Re-read the configuration (HUP).

        On any error the application is left as it was (a config file may have
        changed its attributes, the working directory and ``sys.path`` on the
        way) and the error is raised.
        """
        before = ApplicationState(self)
        try:
            self.load_default_config()
            self.load_config()
        except BaseException:
            before.restore(self)
            raise
        if self.cfg.spew:
            install_spew()

    def wsgi(self):
        if self.callable is None:
            self.callable = self.load()
        return self.callable

    def run(self):
        from gunicorn.arbiter import Arbiter

        try:
            Arbiter(self).run()
        except RuntimeError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            sys.stderr.flush()
            sys.exit(1)


class Application(BaseApplication):
    """The command-line flavour: argv, GUNICORN_CMD_ARGS and a config file.

    Precedence, lowest first: setting defaults, ``init()``, the config file,
    ``GUNICORN_CMD_ARGS``, the command line.
    """

    def chdir(self):
        os.chdir(self.cfg.chdir)
        # so the app module is importable from the new directory
        if self.cfg.chdir not in sys.path:
            sys.path.insert(0, self.cfg.chdir)

    def get_config_from_filename(self, filename):
        """Execute a Python config file and return its globals."""
        if not os.path.exists(filename):
            raise RuntimeError(f"Invalid value for config: {filename!r} doesn't exist")

        if os.path.splitext(filename)[1] in (".py", ".pyc"):
            spec = importlib.util.spec_from_file_location(CONFIG_MODULE_NAME, filename)
        else:
            print("Warning: configuration file should have a valid Python extension.",
                  file=sys.stderr)
            loader = importlib.machinery.SourceFileLoader(CONFIG_MODULE_NAME, filename)
            spec = importlib.util.spec_from_file_location(CONFIG_MODULE_NAME, filename,
                                                          loader=loader)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[CONFIG_MODULE_NAME] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:
            raise ConfigError(_describe_failure(exc, f"config file {filename}", filename)) \
                from None
        return vars(mod)

    def get_config_from_module_name(self, module_name):
        try:
            return vars(importlib.import_module(module_name))
        except Exception as exc:
            raise ConfigError(_describe_failure(exc, f"config module {module_name!r}", None)) \
                from None

    def load_config_from_module_name_or_filename(self, location):
        """Read settings from ``python:MODULE``, ``file:PATH`` or a plain path."""
        if location.startswith("python:"):
            cfg = self.get_config_from_module_name(location[len("python:"):])
            source = sys.modules.get(location[len("python:"):])
            origin = getattr(source, "__file__", None) or location
        else:
            filename = location[len("file:"):] if location.startswith("file:") else location
            cfg = self.get_config_from_filename(filename)
            origin = filename

        lines = _assignment_lines(origin)
        for name, value in cfg.items():
            # Other globals (imports, helpers) are not settings: ignored, as upstream.
            if name not in self.cfg.settings:
                continue
            where = f"in {origin} line {lines[name]}" if name in lines else f"in {origin}"
            self._set(name, value, where)
        return cfg

    def load_config_from_file(self, filename):
        return self.load_config_from_module_name_or_filename(location=filename)

    def _set(self, name, value, where):
        try:
            self.cfg.set(name.lower(), value)
        except Exception as exc:
            raise ConfigError(f"Invalid value for {name}: {value!r} ({where}): {exc}") from None

    def load_config(self):
        parser = self.cfg.parser()
        args = parser.parse_args()

        # settings the application type gives before any user source
        cfg = self.init(parser, args, args.args)

        # the current directory goes on sys.path so configs and the app import from it
        self.chdir()

        if cfg:
            for name, value in cfg.items():
                self._set(name, value, "from the application")

        env_args = parser.parse_args(self.cfg.get_cmd_args_from_env())

        if args.config:
            self.load_config_from_file(args.config)
        elif env_args.config:
            self.load_config_from_file(env_args.config)
        else:
            default_config = get_default_config_file()
            if default_config is not None:
                self.load_config_from_file(default_config)

        self._apply_args(env_args, "from GUNICORN_CMD_ARGS")
        self._apply_args(args, "from the command line")

        # the config may have named another directory
        self.chdir()

    def _apply_args(self, namespace, where):
        for name, value in vars(namespace).items():
            if value is None or name == "args":
                continue
            self._set(name, value, where)

    def run(self):
        if self.cfg.print_config:
            print(self.cfg)

        self._add_pythonpath()

        from gunicorn.workers.http2_modes import http2_unreachable

        if http2_unreachable(self.cfg):
            print("Warning: http_protocols lists h2, but with neither TLS (certfile/keyfile) "
                  "nor http2_cleartext no client can negotiate HTTP/2.",
                  file=sys.stderr, flush=True)

        if self.cfg.print_config or self.cfg.check_config:
            try:
                self.check()
            except Exception as exc:
                report_load_failure(exc)
                sys.exit(1)
            sys.exit(0)

        if self.cfg.spew:
            install_spew()

        if self.cfg.daemon:
            if os.environ.get("NOTIFY_SOCKET"):
                print("Warning: you shouldn't specify `daemon = True` when launching by "
                      "systemd with `Type = notify`", file=sys.stderr, flush=True)
            from gunicorn.process import daemonize

            daemonize(self.cfg.enable_stdio_inheritance)

        try:
            from gunicorn import plugins
            from gunicorn.workers.workertmp import check_worker_tmp_dir

            plugins.check_config(self.cfg)
            check_worker_tmp_dir(self.cfg)
        except RuntimeError as exc:
            print(f"Error: {exc}", file=sys.stderr, flush=True)
            sys.exit(1)

        super().run()

    def check(self):
        """What ``--check-config`` verifies: siblings, classes, binds, raw_env, the app."""
        from gunicorn import plugins

        try:
            plugins.check_config(self.cfg)
            self.cfg.worker_class  # noqa: B018  (resolving them is the check)
            self.cfg.logger_class  # noqa: B018
            # a bad --bind or -e would otherwise pass the check and fail at start
            self.cfg.address  # noqa: B018
            self.cfg.env  # noqa: B018
            from gunicorn.sock import check_tls_files
            from gunicorn.workers.workertmp import check_worker_tmp_dir

            check_tls_files(self.cfg)
            check_worker_tmp_dir(self.cfg)
        except RuntimeError as exc:
            # gunicorn's own verdict on a setting: one line, as at start
            raise ConfigError(str(exc)) from None
        self.load()

    def _add_pythonpath(self):
        if not self.cfg.pythonpath:
            return
        for path in self.cfg.pythonpath.split(","):
            path = os.path.abspath(path.strip())
            if path not in sys.path:
                sys.path.insert(0, path)


def report_load_failure(exc):
    """Print why --check-config failed: one line when the cause is known.

    Anything else was raised by the application's own code (a factory, an import):
    its traceback is what the user needs.
    """
    if isinstance(exc, (AppImportError, ConfigError)):
        print(f"Error: {exc}", file=sys.stderr)
    else:
        print("Error while loading the application:\n", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.flush()


def _assignment_lines(path):
    """``{name: line}`` of the last top-level binding of each name in a Python file."""
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError, TypeError):
        return {}
    lines = {}
    for node in tree.body:
        for name in _bound_names(node):
            lines[name] = node.lineno
    return lines


def _bound_names(node):
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    else:
        return []
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
    return names


def _describe_failure(exc, what, filename):
    """``Error in config file X line N: Type: message`` for a config that raised."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
        if filename is None:
            filename = exc.filename
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        if filename is not None:
            target = os.path.abspath(filename)
            own = [f for f in frames if os.path.abspath(f.filename) == target]
        else:
            own = [f for f in frames if not _is_loader_frame(f.filename)]
        if own:
            line = own[-1].lineno
            filename = filename or own[-1].filename
    where = what
    if line is not None:
        where = f"{what} line {line}" if filename in what else f"{what} ({filename} line {line})"
    message = exc.msg if isinstance(exc, SyntaxError) and exc.msg else exc
    return f"failed to read {where}: {type(exc).__name__}: {message}{_syntax_excerpt(exc)}"


def _is_loader_frame(filename):
    # importlib's and our own frames say how the config was read, not where it failed
    return "importlib" in filename or os.path.abspath(filename).startswith(_GUNICORN_DIR)


_GUNICORN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _syntax_excerpt(exc):
    """The offending source line and its caret, as Python shows them, for a SyntaxError."""
    if not isinstance(exc, SyntaxError) or not exc.text:
        return ""
    shown = traceback.format_exception_only(type(exc), exc)
    # drop the ``File ...`` line and the final ``SyntaxError: ...`` line
    body = "".join(shown[1:-1]).rstrip()
    return "\n" + body if body else ""


def install_spew():
    """``--spew``: print every line the interpreter runs (debugging aid)."""
    import linecache
    import threading

    def tracer(frame, event, arg):
        if event == "line":
            filename = frame.f_code.co_filename
            lineno = frame.f_lineno
            source = linecache.getline(filename, lineno).rstrip()
            print(f"{filename}:{lineno}: {source}", file=sys.stderr)
        return tracer

    sys.settrace(tracer)
    threading.settrace(tracer)
