"""The control interface: a unix socket in the master that ``gunicornc`` talks to.

- ``framing``: the wire format (length-prefixed JSON), sans-I/O.
- ``commands``: the command table, dispatch, and commands from plugins.
- ``arbiter_commands``: core's commands (show, worker, dirty, reload, ...).
- ``server``: the socket and its thread inside the master.
- ``client``, ``render``, ``cli``: the ``gunicornc`` program.
"""
