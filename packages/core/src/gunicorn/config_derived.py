"""Values worked out from a Config's settings, kept until one of those settings changes."""

import functools

# Configs remembered per derived function. A process serves with one Config (a
# few more in tests); past this many the memory is dropped rather than grown.
DEFAULT_LIMIT = 64


def _settings_version(cfg):
    # Only a gunicorn Config counts its changes; read the instance dict so an
    # object answering every attribute (a Mock, a __getattr__ proxy) is not taken
    # for one.
    state = getattr(cfg, "__dict__", None)
    return state.get("_settings_version") if state is not None else None


def derived_from_settings(compute, limit=DEFAULT_LIMIT):
    """Wrap ``compute(cfg)`` so its result is reused while ``cfg``'s settings are unchanged.

    Use as a decorator on a function of the config alone::

        @derived_from_settings
        def access_log_enabled(cfg):
            return bool(cfg.accesslog or ...)

    For a gunicorn ``Config`` the result is remembered under the config and its
    ``_settings_version`` (which ``Config.set()`` and any ``Setting.set()``
    raise), so ``compute`` runs again only after a change. Any other object
    (a test stub, an embedder's own config) has no version: ``compute`` runs on
    every call.

    Each wrapped function keeps at most ``limit`` configs; the entry holds the
    config itself, so an id() is never reused while its entry lives. ``compute``
    must read nothing but ``cfg``; it may run twice for one version when threads
    race, so it must not have side effects.
    """
    # id(cfg) -> (cfg, settings version, value)
    cache = {}

    def derived(cfg):
        entry = cache.get(id(cfg))
        if entry is not None and entry[0] is cfg \
                and entry[1] == cfg.__dict__["_settings_version"]:
            return entry[2]
        return _refresh(cfg)

    def _refresh(cfg):
        version = _settings_version(cfg)
        value = compute(cfg)
        if version is not None:
            if len(cache) >= limit:
                cache.clear()
            cache[id(cfg)] = (cfg, version, value)
        return value

    functools.update_wrapper(derived, compute)
    derived.cache_clear = cache.clear
    return derived
