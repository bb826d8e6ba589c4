"""The worker heartbeat file."""

import os
import time

import pytest
from wsgi_support import make_cfg

from gunicorn.workers.workertmp import WorkerTmp


def test_heartbeat_file_is_unlinked_and_notify_moves_mtime(tmp_path):
    tmp = WorkerTmp(make_cfg(worker_tmp_dir=str(tmp_path)))
    try:
        assert os.listdir(tmp_path) == []
        first = tmp.last_update()
        assert abs(first - time.monotonic()) < 5
        time.sleep(0.02)
        tmp.notify()
        assert tmp.last_update() > first
        assert os.fstat(tmp.fileno()).st_nlink == 0
    finally:
        tmp.close()


def test_close_releases_fd():
    tmp = WorkerTmp(make_cfg())
    fd = tmp.fileno()
    tmp.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_missing_dir_is_an_error(tmp_path):
    with pytest.raises(RuntimeError):
        WorkerTmp(make_cfg(worker_tmp_dir=str(tmp_path / "nope")))
