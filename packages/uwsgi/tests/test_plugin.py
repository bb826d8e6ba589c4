"""The distribution plugs into core through the gunicorn.protocols entry point."""

from importlib import metadata
from pathlib import Path

import gunicorn.uwsgi
from gunicorn import plugins
from gunicorn.uwsgi.protocol import UWSGIProtocol


def test_protocol_entry_point():
    (entry,) = [ep for ep in metadata.entry_points(group="gunicorn.protocols")
                if ep.name == "uwsgi"]
    assert entry.value == "gunicorn.uwsgi.protocol:UWSGIProtocol"
    assert entry.load() is UWSGIProtocol


def test_core_finds_it_by_name():
    assert plugins.load_protocol("uwsgi") is UWSGIProtocol


def test_versions():
    assert gunicorn.uwsgi.__version__ == metadata.version("gunicorn-uwsgi") == "0.1.0"
    requires = metadata.requires("gunicorn-uwsgi")
    assert any(req.replace(" ", "").startswith("gunicorn<29,>=28") or
               req.replace(" ", "").startswith("gunicorn>=28,<29") for req in requires)


def test_namespace_is_shared_with_core():
    # core ships gunicorn/__init__.py; this distribution must not (it would clash with core's).
    files = [str(f).replace("\\", "/") for f in metadata.files("gunicorn-uwsgi") or ()]
    assert "gunicorn/__init__.py" not in files
    assert not (Path(__file__).parents[1] / "src" / "gunicorn" / "__init__.py").exists()
    ours = Path(gunicorn.uwsgi.__file__).resolve().parent.parent
    assert str(ours) in [str(Path(p).resolve()) for p in gunicorn.__path__]


def test_upstream_error_names_importable_from_the_package():
    from gunicorn.uwsgi import (  # noqa: F401
        ForbiddenUWSGIRequest,
        InvalidUWSGIHeader,
        UnsupportedModifier,
        UWSGIParseException,
    )
    from gunicorn.uwsgi.errors import UWSGIParseException as same

    assert UWSGIParseException is same
