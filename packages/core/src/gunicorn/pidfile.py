"""The master's pid file: written atomically, checked for a live owner, removed on exit."""

import errno
import os
import tempfile


class Pidfile:
    """A file holding the master's pid.

    It is written to a temporary file in the same directory and renamed into
    place, so a reader never sees a half-written pid.
    """

    def __init__(self, fname):
        self.fname = fname
        self.pid = None

    def create(self, pid):
        running = self.validate()
        if running:
            if running == os.getpid():
                return
            raise RuntimeError(
                f"Already running on PID {running} (or pid file '{self.fname}' is stale)")

        self.pid = pid
        directory = os.path.dirname(self.fname)
        if directory and not os.path.isdir(directory):
            raise RuntimeError(f"{directory} doesn't exist. Can't create pidfile.")
        fd, tmpname = tempfile.mkstemp(dir=directory or None)
        try:
            os.write(fd, f"{self.pid}\n".encode())
        finally:
            os.close(fd)
        if self.fname:
            os.rename(tmpname, self.fname)
        else:
            self.fname = tmpname
        os.chmod(self.fname, 0o644)

    def rename(self, path):
        """Move the pid file to ``path`` (a promoted re-exec'ed master)."""
        self.unlink()
        self.fname = path
        self.create(self.pid)

    def unlink(self):
        """Remove the file, but only while it still names our pid."""
        try:
            with open(self.fname) as f:
                owner = int(f.read() or 0)
            if owner == self.pid:
                os.unlink(self.fname)
        except (OSError, ValueError):
            pass

    def validate(self):
        """The pid in the file if that process is alive, else None."""
        if not self.fname:
            return None
        try:
            with open(self.fname) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        try:
            wpid = int(text)
        except ValueError:
            return None
        try:
            os.kill(wpid, 0)
        except OSError as e:
            if e.errno == errno.ESRCH:
                return None
            if e.errno == errno.EPERM:
                # alive, owned by someone else
                return wpid
            raise
        return wpid
