"""reload_settings: the dirty settings file a master HUP leaves for the dirty arbiter."""

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
