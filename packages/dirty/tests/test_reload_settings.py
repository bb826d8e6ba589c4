"""reload_settings: the dirty settings file a master HUP leaves for the dirty arbiter."""

import os
import stat
import types

import pytest

from gunicorn.dirty.reload_settings import (
    RELOADABLE,
    settings_path,
    take_settings,
    write_settings,
)


def fake_cfg(**values):
    base = {"dirty_apps": ("a:B",), "dirty_workers": 2, "dirty_timeout": 30,
            "dirty_threads": 1, "dirty_graceful_timeout": 5, "workers": 9}
    base.update(values)
    return types.SimpleNamespace(**base)


def test_written_settings_are_taken_once(tmp_path):
    sock = str(tmp_path / "arbiter.sock")
    write_settings(sock, fake_cfg(dirty_workers=4))
    assert take_settings(sock) == {"dirty_apps": ["a:B"], "dirty_workers": 4,
                                   "dirty_timeout": 30, "dirty_threads": 1,
                                   "dirty_graceful_timeout": 5}
    # consumed: a later plain HUP of the dirty arbiter finds nothing
    assert take_settings(sock) is None
    assert list(tmp_path.iterdir()) == []


def test_only_reloadable_settings_are_taken(tmp_path):
    sock = str(tmp_path / "arbiter.sock")
    with open(settings_path(sock), "w") as f:
        f.write('{"dirty_workers": 3, "user": "root", "bind": ["0.0.0.0:80"]}')
    assert take_settings(sock) == {"dirty_workers": 3}
    assert set(RELOADABLE) >= {"dirty_workers", "dirty_apps", "dirty_timeout"}


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_a_bad_file_raises_and_is_removed(tmp_path, text):
    sock = str(tmp_path / "arbiter.sock")
    with open(settings_path(sock), "w") as f:
        f.write(text)
    with pytest.raises(ValueError):
        take_settings(sock)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("planted", ["settings.json.tmp", "settings.json"])
def test_a_planted_symlink_is_not_followed(tmp_path, planted):
    # the socket dir belongs to the app user while the master may be root: a
    # symlink there must not make the master write (or chown) a file elsewhere
    sock_dir = tmp_path / "sock"
    sock_dir.mkdir()
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    before = os.stat(outside)
    (sock_dir / planted).symlink_to(outside)
    sock = str(sock_dir / "arbiter.sock")
    write_settings(sock, fake_cfg(dirty_workers=7))
    assert outside.read_text() == "precious\n"
    after = os.stat(outside)
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid, before.st_gid, before.st_mode)
    written = os.lstat(settings_path(sock))
    assert stat.S_ISREG(written.st_mode)
    assert sorted(p.name for p in sock_dir.iterdir()) == ["settings.json"]
    assert take_settings(sock)["dirty_workers"] == 7


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_written_file_belongs_to_the_directory_owner(tmp_path):
    sock_dir = tmp_path / "sock"
    sock_dir.mkdir()
    os.chown(sock_dir, 65534, 65534)
    outside = tmp_path / "outside"
    outside.write_text("precious\n")
    (sock_dir / "settings.json.tmp").symlink_to(outside)
    sock = str(sock_dir / "arbiter.sock")
    write_settings(sock, fake_cfg())
    assert os.stat(outside).st_uid == 0
    written = os.lstat(settings_path(sock))
    assert (written.st_uid, written.st_gid) == (65534, 65534)


def test_a_symlinked_socket_dir_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(OSError):
        write_settings(str(link / "arbiter.sock"), fake_cfg())
    assert list(real.iterdir()) == []
