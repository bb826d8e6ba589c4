"""The dirty settings a master HUP hands to the running dirty arbiter, as a file beside its socket.

The dirty arbiter is forked once and holds a copy of the master's config, so
a HUP of the master alone would leave it with the old ``dirty_*`` values (as
upstream does). Here the master, after re-reading its configuration, writes
the new values to ``settings.json`` in the arbiter's private socket
directory and then sends it HUP; the arbiter reads the file (and removes it)
before it starts its fresh workers. A file, rather than a message on the
socket, so nothing a web worker can send changes the arbiter's settings,
and the master never blocks on a busy arbiter.
"""

import json
import os

# What a running dirty arbiter takes from a HUP. Everything else it keeps from
# when it was forked: hooks, user/group, proc_name, logging.
RELOADABLE = ("dirty_apps", "dirty_workers", "dirty_timeout", "dirty_threads",
              "dirty_graceful_timeout")

FILE_NAME = "settings.json"


def settings_path(socket_path):
    return os.path.join(os.path.dirname(socket_path), FILE_NAME)


def dirty_settings(cfg):
    """The reloadable settings of ``cfg`` as plain JSON values."""
    values = {name: getattr(cfg, name) for name in RELOADABLE}
    values["dirty_apps"] = list(values["dirty_apps"] or [])
    return values


def write_settings(socket_path, cfg):
    """In the master: leave ``cfg``'s dirty settings for the arbiter to read on its HUP.

    Written aside and renamed, so the arbiter never reads half a file; owned by
    the directory's owner, the user the arbiter runs as, so it can read it
    whatever the master's umask. Raises ``OSError`` when it cannot.

    The directory belongs to that user while the master may be root, so no
    name in it is trusted: everything goes through one descriptor of the
    directory, the temp file is created fresh (never through a planted
    symlink) and chowned by descriptor, and the rename replaces whatever sits
    at the final name without following it.
    """
    final = FILE_NAME
    tmp = FILE_NAME + ".tmp"
    data = json.dumps(dirty_settings(cfg)).encode()
    dfd = os.open(os.path.dirname(settings_path(socket_path)),
                  os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _unlink_at(tmp, dfd)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                     dir_fd=dfd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                directory = os.fstat(dfd)
                if os.geteuid() == 0 and (directory.st_uid, directory.st_gid) != (0, 0):
                    os.fchown(fd, directory.st_uid, directory.st_gid)
            finally:
                os.close(fd)
            os.replace(tmp, final, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                _unlink_at(tmp, dfd)
            except OSError:
                pass  # the first error is the one to report
            raise
    finally:
        os.close(dfd)


def _unlink_at(name, dfd):
    try:
        os.unlink(name, dir_fd=dfd)
    except FileNotFoundError:
        pass


def take_settings(socket_path):
    """In the arbiter: the settings a master HUP left (a dict), or None; the file is removed.

    A file that cannot be read or parsed raises ``ValueError`` (after it is removed).
    """
    path = settings_path(socket_path)
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc}")
    finally:
        discard_settings(socket_path)
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON: {exc}")
    if not isinstance(values, dict):
        raise ValueError(f"{path} does not hold an object")
    return {name: values[name] for name in RELOADABLE if name in values}


def discard_settings(socket_path):
    try:
        os.unlink(settings_path(socket_path))
    except OSError:
        pass
