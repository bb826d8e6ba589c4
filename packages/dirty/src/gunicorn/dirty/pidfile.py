"""The dirty arbiter's pid file at a well-known path, as upstream documents it for `kill -TTIN`."""

import os
import stat
import tempfile


def pidfile_path(proc_name):
    """``<tmpdir>/gunicorn-dirty-<proc_name>.pid`` (slashes and spaces made ``_``)."""
    safe = str(proc_name).replace("/", "_").replace(" ", "_")
    return os.path.join(tempfile.gettempdir(), f"gunicorn-dirty-{safe}.pid")


def _ours(st):
    # the temp dir is shared: only a plain file of this user may be replaced or removed
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def write_pidfile(path, pid):
    """Write ``pid`` to ``path`` (mode 0600, never through a symlink); False if refused."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _attempt in range(2):
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            # left by an earlier run of this service: replace it if it is ours
            try:
                if not _ours(os.lstat(path)):
                    return False
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{pid}\n")
        return True
    return False


def remove_pidfile(path, pid):
    """Remove ``path`` if it is still ours and still names ``pid`` (a newer arbiter's stays)."""
    try:
        if not _ours(os.lstat(path)):
            return
        with open(path) as f:
            if f.read().strip() != str(pid):
                return
        os.unlink(path)
    except (OSError, ValueError):
        pass
