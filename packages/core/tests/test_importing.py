"""import_app, load_class and get_arity: the forms users write on the command line."""

import sys
import textwrap

import pytest

from gunicorn import util
from gunicorn.errors import AppImportError
from gunicorn.importing import get_arity, import_app, load_class
from gunicorn.plugins import MissingExtension

APP_MODULE = textwrap.dedent("""
    def application(environ, start_response):
        return [b"default"]

    def app(environ, start_response):
        return [b"app"]

    def create_app(name="x", debug=False, *, extra=None):
        def wsgi(environ, start_response):
            return [name.encode(), repr(debug).encode(), repr(extra).encode()]
        return wsgi

    def broken_factory():
        return len(1)

    def none_factory():
        return None

    not_callable = 42
""")


@pytest.fixture
def appmod(tmp_path, monkeypatch):
    name = "gunicorn_test_importing_app"
    (tmp_path / f"{name}.py").write_text(APP_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def call(app):
    return b"|".join(app({}, None))


def test_default_variable_is_application(appmod):
    assert call(import_app(appmod)) == b"default"


def test_module_variable(appmod):
    assert call(import_app(f"{appmod}:app")) == b"app"


def test_factory_without_args(appmod):
    assert call(import_app(f"{appmod}:create_app()")) == b"x|False|None"


def test_factory_with_literal_args_and_kwargs(appmod):
    app = import_app(f"{appmod}:create_app('prod', debug=True, extra={{'a': [1, 2]}})")
    assert call(app) == b"prod|True|{'a': [1, 2]}"


@pytest.mark.parametrize("expr, message", [
    ("nope", "Failed to find attribute 'nope' in '{mod}'."),
    ("not_callable", "Application object must be callable."),
    ("none_factory()", "Failed to find application object: 'none_factory()'"),
    ("create_app(os.getcwd())", "Failed to parse arguments as literal values: "
                                "'create_app(os.getcwd())'"),
    ("a.b", "Failed to parse 'a.b' as an attribute name or function call."),
    ("app(", "Failed to parse 'app(' as an attribute name or function call."),
    ("x.y()", "Function reference must be a simple name: 'x.y()'"),
])
def test_import_app_errors(appmod, expr, message):
    with pytest.raises(AppImportError) as info:
        import_app(f"{appmod}:{expr}")
    assert str(info.value) == message.format(mod=appmod)


def test_factory_called_with_wrong_arguments_is_an_app_import_error(appmod):
    with pytest.raises(AppImportError) as info:
        import_app(f"{appmod}:create_app(1, 2, 3)")
    # one line naming the error, no traceback
    assert str(info.value).startswith("TypeError: create_app() takes")
    assert "\n" not in str(info.value)


def test_type_error_inside_factory_propagates(appmod):
    with pytest.raises(TypeError, match="has no len"):
        import_app(f"{appmod}:broken_factory()")


def test_missing_module_raises_import_error():
    with pytest.raises(ImportError):
        import_app("gunicorn_no_such_module_anywhere:app")


def test_py_path_gets_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.py").write_text("application = None\n")
    with pytest.raises(ImportError, match="did you mean 'hello:application'"):
        import_app("hello.py")


def test_no_eval_of_arbitrary_code(appmod, tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(AppImportError):
        import_app(f"{appmod}:create_app(open({str(marker)!r}, 'w'))")
    assert not marker.exists()


class Dummy:
    pass


def test_load_class_accepts_class_objects():
    assert load_class(Dummy) is Dummy


def test_load_class_dotted_path():
    assert load_class("collections.OrderedDict").__name__ == "OrderedDict"


@pytest.mark.parametrize("uri", ["gunicorn_no_such_module.Worker", "collections.NoSuchClass",
                                 "no_such_short_name", "egg:gunicorn#no_such_entry"])
def test_load_class_not_found(uri):
    with pytest.raises(RuntimeError, match="invalid or not found"):
        load_class(uri)


def test_load_class_short_name_from_supported_workers(monkeypatch):
    import gunicorn.workers

    monkeypatch.setitem(gunicorn.workers.SUPPORTED_WORKERS, "ordered",
                        "collections.OrderedDict")
    assert load_class("ordered").__name__ == "OrderedDict"
    # a leading '#' is stripped, as upstream
    assert load_class("#ordered").__name__ == "OrderedDict"


def test_load_class_missing_sibling_names_the_extra(monkeypatch):
    from gunicorn import plugins

    monkeypatch.setattr(plugins, "_module_available", lambda name: False)
    with pytest.raises(MissingExtension) as info:
        load_class("gevent")
    assert str(info.value) == ("worker class 'gevent' needs the gunicorn-workers-async "
                               "distribution: pip install gunicorn[gevent]")


def test_load_class_missing_library_names_the_extra(monkeypatch):
    from gunicorn import plugins

    monkeypatch.setattr(plugins, "_module_available", lambda name: name != "tornado")
    with pytest.raises(MissingExtension) as info:
        load_class("tornado")
    assert str(info.value) == ("worker class 'tornado' needs the 'tornado' package: "
                               "pip install gunicorn[tornado]")


def test_get_arity():
    def two(a, b):
        pass

    def with_default(a, b=1, *args, c, **kw):
        pass

    class Method:
        def hook(self, server):
            pass

    assert get_arity(two) == 2
    assert get_arity(with_default) == 2
    assert get_arity(Method().hook) == 1
    assert get_arity(lambda: None) == 0


def test_util_facade_exports_them():
    assert util.import_app is import_app
    assert util.load_class is load_class
    assert util.get_arity is get_arity


def test_dotted_path_into_missing_sibling_names_the_extra(monkeypatch):
    from gunicorn import plugins

    real = plugins._module_available
    monkeypatch.setattr(plugins, "_module_available",
                        lambda name: False if name.startswith("gunicorn.") else real(name))
    monkeypatch.setitem(sys.modules, "gunicorn.workers.gtornado", None)
    with pytest.raises(MissingExtension) as info:
        load_class("gunicorn.workers.gtornado.TornadoWorker")
    assert str(info.value) == (
        "worker class 'gunicorn.workers.gtornado.TornadoWorker' needs the "
        "gunicorn-workers-async distribution: pip install gunicorn[tornado]")
