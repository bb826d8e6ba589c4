"""The worker heartbeat: an unlinked temp file whose mtime the arbiter watches."""

import os
import tempfile
import time


def check_worker_tmp_dir(cfg):
    """Raise RuntimeError naming ``worker_tmp_dir`` when it is not a directory.

    Run before the first spawn too: in a worker's spawn it could only end the
    master's loop with a traceback.
    """
    tmp_dir = getattr(cfg, "worker_tmp_dir", None)
    if tmp_dir and not os.path.isdir(tmp_dir):
        raise RuntimeError(f"Invalid value for worker_tmp_dir: {tmp_dir} doesn't exist. "
                           "Can't create workertmp.")


class WorkerTmp:
    """A heartbeat file in ``cfg.worker_tmp_dir``.

    The worker calls ``notify()`` often; the arbiter (which inherits the open fd)
    reads ``last_update()`` and compares it with ``time.monotonic()``. Both sides
    use the monotonic clock, stored as the file's mtime, so wall-clock jumps
    never make a live worker look stale.
    """

    def __init__(self, cfg):
        check_worker_tmp_dir(cfg)
        tmp_dir = getattr(cfg, "worker_tmp_dir", None)
        fd, name = tempfile.mkstemp(prefix="wgunicorn-", dir=tmp_dir)
        try:
            self._chown_for_workers(fd, cfg)
        finally:
            # Unlinked at once: nothing is left behind, the fd alone keeps it alive.
            os.unlink(name)
        self._file = os.fdopen(fd, "w+b", buffering=0)
        self.notify()

    @staticmethod
    def _chown_for_workers(fd, cfg):
        # Workers may drop privileges after fork; they must still touch the file.
        uid = getattr(cfg, "uid", None)
        gid = getattr(cfg, "gid", None)
        if uid is None or gid is None:
            return
        if (uid, gid) != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, uid, gid)
            except OSError:
                pass

    def notify(self):
        """Mark the worker alive now."""
        now = time.monotonic()
        os.utime(self._file.fileno(), (now, now))

    def last_update(self):
        """When ``notify()`` last ran, on the ``time.monotonic()`` clock."""
        return os.fstat(self._file.fileno()).st_mtime

    def fileno(self):
        return self._file.fileno()

    def close(self):
        self._file.close()
