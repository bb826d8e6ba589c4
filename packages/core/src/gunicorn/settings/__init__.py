"""Every core setting, one module per section, plus those siblings register.

Importing this package defines (and so registers) the core settings in
section order; ``load_all()`` also imports the modules named by the
``gunicorn.settings`` entry points of installed sibling distributions.
"""

import importlib

from gunicorn.settings.base import KNOWN_SETTINGS, SECTIONS, Setting, make_settings

# Section modules in the order ``-h`` and ``--print-config`` present them.
SECTION_MODULES = (
    "config_file",
    "server_socket",
    "worker_processes",
    "security",
    "debugging",
    "server_mechanics",
    "logs",
    "process_naming",
    "server_hooks",
    "tls",
    "http2",
    "dirty_arbiters",
    "dirty_hooks",
    "control",
)

for _module in SECTION_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["KNOWN_SETTINGS", "SECTIONS", "Setting", "make_settings", "load_all"]

_plugins_loaded = False


def load_all():
    """Import the settings modules of installed siblings, once per process."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from gunicorn import plugins

    try:
        plugins.settings_modules()
    except Exception as exc:
        _plugins_loaded = False
        raise RuntimeError(f"a gunicorn.settings plugin failed to load: {exc!r}") from exc
