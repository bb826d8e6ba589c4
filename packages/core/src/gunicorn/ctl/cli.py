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
EXIT_WORDS = {"quit", "exit"}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="gunicornc",
        description="Control a running gunicorn master through its control socket.")
    parser.add_argument("-s", "--socket", metavar="PATH", default=None,
                        help="control socket path (default: %(default)s, i.e. "
                             "$XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl)")
    parser.add_argument("-c", "--command", metavar="TEXT", default=None,
                        help="run one command (e.g. \"show workers\") and exit")
    parser.add_argument("-j", "--json", action="store_true",
                        help="print the raw JSON reply")
    parser.add_argument("-v", "--version", action="version",
                        version=f"gunicornc (gunicorn {__version__})")
    return parser


def socket_path(value):
    """The socket to use: ``value`` resolved against the cwd, else the server's default."""
    return os.path.abspath(os.path.expanduser(value or default_control_socket()))


def failed(reply):
    """Does ``reply`` report a failure (an error reply, or ``success: false``)?"""
    if reply.get("status") != "ok":
        return True
    data = reply.get("data")
    return isinstance(data, dict) and data.get("success") is False


def show(reply, text, as_json, out):
    if as_json:
        out.write(json.dumps(reply, indent=2, sort_keys=True, default=str) + "\n")
        return
    try:
        words = shlex.split(text)
    except ValueError:
        words = []
    out.write(render(words, reply) + "\n")


def run_one(client, text, as_json, out, err):
    """Send ``text``; print the reply; return the exit status for it."""
    try:
        reply = client.request(text)
    except ValueError as exc:  # the line itself does not split (unclosed quote)
        err.write(f"Error: {exc}\n")
        return 1
    except ControlClientError as exc:
        err.write(f"Error: {exc}\n")
        return 1  # as upstream's gunicornc: every failure is status 1
    show(reply, text, as_json, out)
    return 1 if failed(reply) else 0


def interactive(client, as_json, out, err):
    """A prompt that reads commands until ``quit``, ``exit`` or end of input."""
    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:
        pass
    out.write(f"gunicornc (gunicorn {__version__}) on {client.path}; "
              "'help' lists commands, 'quit' leaves\n")
    status = 0
    while True:
        try:
            line = input(PROMPT)
        except EOFError:
            out.write("\n")
            return status
        except KeyboardInterrupt:
            out.write("\n")
            continue
        text = line.strip()
        if not text:
            continue
        if text in EXIT_WORDS:
            return status
        status = run_one(client, text, as_json, out, err)
        out.flush()


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
        if args.command is not None:
            return run_one(client, args.command, args.json, sys.stdout, sys.stderr)
        return interactive(client, args.json, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
