"""DirtyApp dispatch, dirty_apps spec parsing, and app loading."""

import sys
import textwrap

import pytest

from gunicorn.dirty.app import (
    DirtyApp,
    UnknownActionError,
    app_worker_limit,
    get_app_workers_attribute,
    is_dirty_app,
    load_dirty_app,
    load_dirty_apps,
    parse_dirty_app_spec,
)
from gunicorn.dirty.errors import DirtyAppError, DirtyAppNotFoundError


class Calculator(DirtyApp):
    def add(self, a, b=0):
        return a + b

    def _secret(self):
        return "hidden"

    label = "not callable"


def test_dispatch_to_public_method():
    app = Calculator()
    assert app("add", 2, b=3) == 5
    assert app("add", 1) == 1


@pytest.mark.parametrize("action", ["nope", "_secret", "__init__", "__class__", "label", "", None])
def test_unknown_or_private_action(action):
    with pytest.raises(DirtyAppError, match="Unknown action") as info:
        Calculator()(action)
    # Code written for upstream catches ValueError.
    assert isinstance(info.value, ValueError) and isinstance(info.value, UnknownActionError)


def test_base_defaults():
    app = DirtyApp()
    assert DirtyApp.workers is None
    assert app.init() is None and app.close() is None
    assert app("init") is None


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("mod:Cls", ("mod:Cls", None)),
        ("pkg.mod:Cls", ("pkg.mod:Cls", None)),
        ("pkg.mod:Cls:3", ("pkg.mod:Cls", 3)),
        ("mod:Cls:1", ("mod:Cls", 1)),
        ("mod:Outer.Inner:2", ("mod:Outer.Inner", 2)),
    ],
)
def test_parse_spec(spec, expected):
    assert parse_dirty_app_spec(spec) == expected


@pytest.mark.parametrize(
    "spec,match",
    [
        ("mod", "expected 'module.path:ClassName'"),
        ("mod:", "expected"),
        (":Cls", "expected"),
        ("", "expected"),
        ("a:b:c:d", "expected"),
        (" mod:Cls", "expected"),
        ("mod:Cls:x", "expected an integer"),
        ("mod:Cls:", "expected an integer"),
        ("mod:Cls:-1", "expected an integer"),
        ("mod:Cls:0", "must be >= 1"),
        (None, "expected"),
    ],
)
def test_bad_spec_names_the_setting(spec, match):
    with pytest.raises(DirtyAppError, match=match) as info:
        parse_dirty_app_spec(spec)
    assert "dirty_apps" in str(info.value)


@pytest.fixture
def app_module(tmp_path, monkeypatch):
    name = f"dirty_test_apps_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            from gunicorn.dirty import DirtyApp

            class Sub(DirtyApp):
                workers = 2
                def ping(self):
                    return "pong"

            class Duck:
                def init(self): pass
                def __call__(self, action, *args, **kwargs): return action
                def close(self): pass

            class NoClose:
                def init(self): pass
                def __call__(self, action): pass

            class Broken(DirtyApp):
                def __init__(self):
                    raise RuntimeError("boom")

            class BadWorkers(DirtyApp):
                workers = 0

            instance = Sub()

            class Outer:
                class Inner(DirtyApp):
                    pass
            """
        )
    )
    (tmp_path / f"{name}_broken_import.py").write_text("import no_such_module_for_dirty_tests\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for mod in (name, f"{name}_broken_import"):
        sys.modules.pop(mod, None)


def test_load_subclass(app_module):
    app = load_dirty_app(f"{app_module}:Sub")
    assert isinstance(app, DirtyApp) and app("ping") == "pong"


def test_load_duck_typed(app_module):
    app = load_dirty_app(f"{app_module}:Duck")
    assert is_dirty_app(app) and app("x") == "x"


def test_load_nested_class(app_module):
    assert isinstance(load_dirty_app(f"{app_module}:Outer.Inner"), DirtyApp)


def test_load_missing_method(app_module):
    with pytest.raises(DirtyAppError, match="close"):
        load_dirty_app(f"{app_module}:NoClose")


def test_load_instance_is_refused(app_module):
    with pytest.raises(DirtyAppError, match="not a class"):
        load_dirty_app(f"{app_module}:instance")


def test_load_constructor_failure(app_module):
    with pytest.raises(DirtyAppError, match="Failed to instantiate .*boom"):
        load_dirty_app(f"{app_module}:Broken")


def test_load_missing_class_or_module(app_module):
    with pytest.raises(DirtyAppNotFoundError):
        load_dirty_app(f"{app_module}:Missing")
    with pytest.raises(DirtyAppNotFoundError):
        load_dirty_app("no_such_dirty_module_xyz:App")
    with pytest.raises(DirtyAppNotFoundError):
        load_dirty_app("no_such_dirty_pkg_xyz.sub:App")


def test_import_error_inside_the_module_is_not_not_found(app_module):
    with pytest.raises(DirtyAppError, match="no_such_module_for_dirty_tests") as info:
        load_dirty_app(f"{app_module}_broken_import:App")
    assert not isinstance(info.value, DirtyAppNotFoundError)


def test_load_many_and_worker_limits(app_module):
    apps = load_dirty_apps([f"{app_module}:Sub:1", f"{app_module}:Duck"])
    assert set(apps) == {f"{app_module}:Sub", f"{app_module}:Duck"}
    assert get_app_workers_attribute(f"{app_module}:Sub") == 2
    assert get_app_workers_attribute(f"{app_module}:Duck") is None
    assert app_worker_limit(f"{app_module}:Sub") == 2
    assert app_worker_limit(f"{app_module}:Sub:5") == 5
    assert app_worker_limit(f"{app_module}:Duck") is None
    with pytest.raises(DirtyAppError, match="workers must be"):
        app_worker_limit(f"{app_module}:BadWorkers")


def test_stash_tables_an_app_declares():
    from gunicorn.dirty.app import app_stash_tables

    assert app_stash_tables("dirty_test_apps:WithStashes") == ["dirty-test-sessions",
                                                               "dirty-test-counters"]
    assert app_stash_tables("dirty_test_apps:Echo") == []
    with pytest.raises(DirtyAppError, match="stashes must be a list"):
        app_stash_tables("dirty_test_apps:BadStashes")
