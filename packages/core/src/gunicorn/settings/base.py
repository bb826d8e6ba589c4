"""``Setting``: one configurable option; defining a subclass registers it."""

import copy
import inspect
import textwrap

# Registered setting classes, in definition order. A later class with the same
# ``name`` (e.g. a sibling giving an HTTP/2 setting its full validator)
# replaces the earlier one in place.
KNOWN_SETTINGS = []

# Sections in the order their modules are imported; ``-h`` groups by these.
SECTIONS = []


class Setting:
    """Base class of every setting; subclasses set the class attributes below.

    ``validator`` turns a raw value into the stored one; ``type`` is the argparse
    converter; ``cli`` the flags (none: config-file only); ``action``, ``nargs``,
    ``const`` and ``meta`` are passed to argparse.
    """

    name = None
    section = None
    cli = None
    validator = None
    type = None
    meta = None
    action = None
    default = None
    short = None
    desc = None
    nargs = None
    const = None
    order = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Plain functions stored on the class must not become bound methods.
        for attr in ("validator", "default", "type"):
            val = cls.__dict__.get(attr)
            if inspect.isfunction(val):
                if attr == "default" and cls.__dict__.get("name"):
                    # print_config shows hooks as <Class.hook_name()>
                    val.__qualname__ = f"{cls.__name__}.{cls.__dict__['name']}"
                setattr(cls, attr, staticmethod(val))
        if cls.__dict__.get("desc"):
            cls.desc = textwrap.dedent(cls.desc).strip("\n")
            if not cls.__dict__.get("short"):
                cls.short = " ".join(cls.desc.split("\n\n", 1)[0].replace("``", "").split())
        # A subclass of a concrete setting (same inherited name) replaces it.
        if cls.name:
            _register(cls)

    def __init__(self):
        default = self.initial_default()
        if default is not None:
            self.set(default)

    @classmethod
    def initial_default(cls):
        """The default for a new Config; settings read from the environment override it."""
        return cls.default

    def add_option(self, parser):
        """Add this setting's flags to an argparse parser (or argument group)."""
        if not self.cli:
            return
        help_txt = f"{self.short} [{self.default_text()}]".replace("%", "%%")
        kwargs = {
            "dest": self.name,
            "action": self.action or "store",
            "type": self.type or str,
            # None means "not given", so only flags the user typed override
            # values from the config file (precedence).
            "default": None,
            "help": help_txt,
        }
        if self.meta:
            kwargs["metavar"] = self.meta
        if kwargs["action"] != "store":
            kwargs.pop("type")
        if self.nargs is not None:
            kwargs["nargs"] = self.nargs
        if self.const is not None:
            kwargs["const"] = self.const
        parser.add_argument(*self.cli, **kwargs)

    def default_text(self):
        default = self.default
        if callable(default):
            return f"<{getattr(default, '__qualname__', default)}()>"
        return str(default)

    # The stored value lives in ``_value``; ``value`` is a property so that the
    # Configs mirroring it (``_mirrors``) learn of every change, however made.
    _value = None
    _mirrors = ()

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, val):
        self._value = val
        for cfg in self._mirrors:
            cfg._setting_changed(self)

    def copy(self):
        clone = copy.copy(self)
        # A copy belongs to no Config until one adopts it.
        clone._mirrors = ()
        return clone

    def get(self):
        return self.value

    def set(self, val):
        if not callable(self.validator):
            raise TypeError(f"Invalid validator: {self.name}")
        self.value = self.validator(val)

    def __lt__(self, other):
        return (self.section, self.order) < (other.section, other.order)

    def __repr__(self):
        return (f"<{self.__class__.__module__}.{self.__class__.__name__} object at "
                f"{id(self):x} with value {self.value!r}>")


def _register(cls):
    if cls.section and cls.section not in SECTIONS:
        SECTIONS.append(cls.section)
    for index, known in enumerate(KNOWN_SETTINGS):
        if known.name == cls.name:
            cls.order = known.order
            KNOWN_SETTINGS[index] = cls
            return
    cls.order = len(KNOWN_SETTINGS)
    KNOWN_SETTINGS.append(cls)


def make_settings(ignore=None):
    """A fresh ``{name: Setting}`` of every registered setting, minus ``ignore``."""
    from gunicorn.settings import load_all

    load_all()
    ignore = ignore or ()
    settings = {}
    for cls in KNOWN_SETTINGS:
        if cls.name in ignore:
            continue
        settings[cls.name] = cls()
    return settings
