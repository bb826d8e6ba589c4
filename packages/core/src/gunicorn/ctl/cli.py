"""``gunicornc``: send control commands to a running gunicorn master."""

import argparse
import json
import os
import shlex
import sys

from gunicorn import __version__
from gunicorn.ctl.client import ControlClient, ControlClientError
from gunicorn.ctl.render import render
from gunicorn.settings.control import default_control_socket

PROMPT = "gunicorn> "
EXIT_WORDS = {"quit", "exit", "q"}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gunicornc",
        description="Control a running gunicorn master through its control socket.")
    parser.add_argument("-s", "--socket", metavar="PATH", default=None,
                        help="control socket path (default: $XDG_RUNTIME_DIR/gunicorn.ctl, "
                             "else ~/.gunicorn/gunicorn.ctl)")
    parser.add_argument("-c", "--command", metavar="TEXT", default=None,
                        help="run one command (e.g. \"show workers\") and exit")
    parser.add_argument("-j", "--json", action="store_true",
                        help="print the reply's data as JSON (for scripts)")
    parser.add_argument("-v", "--version", action="version",
                        version=f"gunicornc (gunicorn {__version__})")
    return parser


def socket_path(value):
    """The socket to use: ``value`` resolved against the cwd, else the server's default."""
    return os.path.abspath(os.path.expanduser(value or default_control_socket()))


def show(data, text, as_json, out):
    """Print the ``data`` of an ok reply: JSON as sent (``-j``), else laid out."""
    if as_json:
        out.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    try:
        words = shlex.split(text)
    except ValueError:
        words = []
    out.write(render(words, data) + "\n")


def run_one(client, text, as_json, out, err):
    """Send ``text``; print the reply; return the exit status for it.

    As upstream's gunicornc: an error reply is ``Error: ...`` on ``err`` and
    status 1; any ok reply, even one whose data says ``success: false``,
    prints its data and is status 0.
    """
    try:
        reply = client.request(text)
    except ValueError as exc:  # the line itself does not split (unclosed quote)
        err.write(f"Error: {exc}\n")
        return 1
    except ControlClientError as exc:
        err.write(f"Error: {exc}\n")
        return 1
    if reply.get("status") != "ok":
        err.write(f"Error: {reply.get('error') or 'unknown error'}\n")
        return 1
    data = reply.get("data")
    show({} if data is None else data, text, as_json, out)
    return 0


def interactive(client, as_json, out, err):
    """A prompt that reads commands until ``quit``, ``exit``, ``q`` or end of input.

    A failed command prints its error and the prompt goes on (status 0 at
    the end); only a connection that cannot be made again ends it with 1.
    """
    history = _History()
    try:
        return _prompt(client, as_json, out)
    finally:
        history.save()


class _History:
    """Line editing for the prompt, with upstream's history file (a terminal only)."""

    PATH = "~/.gunicornc_history"

    def __init__(self):
        self.readline = None
        if not sys.stdin.isatty():
            return
        try:
            import readline
        except ImportError:
            return
        self.readline = readline
        try:
            readline.read_history_file(os.path.expanduser(self.PATH))
        except OSError:
            pass

    def save(self):
        if self.readline is not None:
            try:
                self.readline.write_history_file(os.path.expanduser(self.PATH))
            except OSError:
                pass


def _prompt(client, as_json, out):
    out.write(f"Connected to {client.path}\n"
              "Type 'help' for available commands, 'quit' to exit.\n\n")
    while True:
        out.flush()
        try:
            line = input(PROMPT)
        except EOFError:
            out.write("\n")
            return 0
        text = line.strip()
        if not text:
            continue
        if text.lower() in EXIT_WORDS:
            return 0
        try:
            reply = client.request(text)
        except ValueError as exc:
            out.write(f"Error: {exc}\n\n")
            continue
        except ControlClientError as exc:
            out.write(f"Error: {exc}\n")
            try:
                client.close()
                client.connect()
            except ControlClientError:
                out.write("Connection lost. Exiting.\n")
                return 1
            out.write("\n")
            continue
        if reply.get("status") != "ok":
            out.write(f"Error: {reply.get('error') or 'unknown error'}\n\n")
            continue
        data = reply.get("data")
        show({} if data is None else data, text, as_json, out)
        out.write("\n")


def main(argv=None):
    args = build_parser().parse_args(argv)
    path = socket_path(args.socket)
    client = ControlClient(path)
    try:
        client.connect()
    except ControlClientError as exc:
        sys.stderr.write(f"Error: {exc} (is gunicorn running with a control socket?)\n")
        return 1
    try:
        if args.command:  # as upstream, an empty -c means the prompt
            return run_one(client, args.command, args.json, sys.stdout, sys.stderr)
        return interactive(client, args.json, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
