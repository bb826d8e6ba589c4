"""reloader.py: the poll engine sees edits and new glob matches; engine table."""

import os
import threading
import time

import pytest
from gunicorn_testsupport import wait_for

from gunicorn import reloader


def _bump_mtime(path):
    st = os.stat(path)
    os.utime(path, (st.st_atime, st.st_mtime + 5))


def test_engines_table():
    assert set(reloader.reloader_engines) == {"auto", "poll", "inotify"}
    assert reloader.reloader_engines["poll"] is reloader.Reloader
    assert reloader.reloader_engines["auto"] is reloader.preferred_reloader


def test_poll_reloader_sees_changed_extra_file(tmp_path):
    watched = tmp_path / "settings.yaml"
    watched.write_text("a")
    changed = []
    event = threading.Event()

    def callback(name):
        changed.append(name)
        event.set()

    r = reloader.Reloader(extra_files=[str(watched)], interval=0.05, callback=callback)
    assert str(watched) in r.get_files()
    r.start()
    time.sleep(0.2)  # let the first pass record the mtime
    _bump_mtime(watched)
    assert event.wait(5)
    assert changed[0] == str(watched)


def test_poll_reloader_reexpands_globs(tmp_path):
    pattern = str(tmp_path / "templates" / "*.html")
    (tmp_path / "templates").mkdir()
    r = reloader.Reloader(extra_files=[pattern], interval=0.05, callback=lambda n: None)
    assert not [f for f in r.get_files() if f.endswith(".html")]
    new = tmp_path / "templates" / "index.html"
    new.write_text("x")
    assert str(new) in r.get_files()

    seen = []
    r = reloader.Reloader(extra_files=[pattern], interval=0.05, callback=seen.append)
    r.start()
    time.sleep(0.2)
    _bump_mtime(new)
    wait_for(lambda: seen, 5, message="reload callback for a glob match")
    assert seen[0] == str(new)


def test_poll_reloader_watches_loaded_modules():
    files = reloader.Reloader().get_files()
    assert reloader.__file__ in files


@pytest.mark.skipif(reloader.has_inotify, reason="inotify is installed here")
def test_inotify_missing_gives_clear_error():
    with pytest.raises(ImportError, match="inotify"):
        reloader.InotifyReloader(extra_files=[], callback=None)
    assert reloader.reloader_engines["auto"] is reloader.Reloader


def test_server_reload_restarts_worker_on_edit(tmp_path):
    from arbiter_support import server, wait_log, worker_count_is

    templates = tmp_path / "templates"
    templates.mkdir()
    pattern = str(templates / "*.html")
    with server(tmp_path, "--reload", "--reload-engine", "poll",
                "--reload-extra-file", pattern) as srv:
        wait_for(worker_count_is(srv, 1), message="1 worker")
        (first,) = srv.worker_pids()
        # each worker says so, as upstream's do
        wait_log(srv, "[WARNING] Reloader is on. Use in development only!")
        # created after start: found because the glob is expanded on every pass
        page = templates / "page.html"
        page.write_text("v1")
        time.sleep(1.5)  # one poll pass must record the new file's mtime
        _bump_mtime(page)
        wait_log(srv, f"Worker reloading: {page} modified")
        wait_for(lambda: srv.worker_pids() and first not in srv.worker_pids(),
                 message="a fresh worker")


@pytest.mark.skipif(not reloader.has_inotify, reason="the inotify distribution is not installed")
def test_inotify_reloader_sees_change(tmp_path):
    watched = tmp_path / "conf.ini"
    watched.write_text("a")
    seen = []
    r = reloader.InotifyReloader(extra_files=[str(watched)], callback=seen.append)
    assert reloader.reloader_engines["auto"] is reloader.InotifyReloader
    r.start()
    # the watch is added when the thread starts; write until it is noticed
    wait_for(lambda: watched.write_text("b") or str(watched) in seen, 10,
             interval=0.2, message="inotify callback")
