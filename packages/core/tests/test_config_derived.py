"""gunicorn.config_derived: values kept per Config until its settings change."""

import gc
import weakref
from unittest import mock

from gunicorn.config import Config
from gunicorn.config_derived import derived_from_settings


class Counted:
    """A compute function that records each cfg it was called with."""

    def __init__(self, value=lambda cfg: cfg.workers):
        self.calls = []
        self.value = value

    def __call__(self, cfg):
        self.calls.append(cfg)
        return self.value(cfg)


class Versioned:
    """As little of a Config as the helper looks at: a settings version in __dict__."""

    def __init__(self):
        self._settings_version = 1


def test_reused_while_settings_unchanged():
    compute = Counted()
    derived = derived_from_settings(compute)
    cfg = Config()
    assert derived(cfg) == 1
    assert derived(cfg) == 1
    assert len(compute.calls) == 1


def test_recomputed_after_set():
    compute = Counted()
    derived = derived_from_settings(compute)
    cfg = Config()
    assert derived(cfg) == 1
    cfg.set("workers", 3)
    assert derived(cfg) == 3
    assert derived(cfg) == 3
    assert len(compute.calls) == 2


def test_recomputed_after_setting_object_set_and_new_settings():
    compute = Counted()
    derived = derived_from_settings(compute)
    cfg = Config()
    derived(cfg)
    cfg.settings["workers"].set(4)
    assert derived(cfg) == 4
    replacement = Config().settings
    replacement["workers"].set(5)
    cfg.settings = replacement
    assert derived(cfg) == 5
    assert len(compute.calls) == 3


def test_each_config_has_its_own_value():
    derived = derived_from_settings(Counted())
    one, two = Config(), Config()
    two.set("workers", 2)
    assert (derived(one), derived(two), derived(one), derived(two)) == (1, 2, 1, 2)
    assert derived.__wrapped__.calls == [one, two]


def test_each_wrapped_function_has_its_own_memory():
    first = derived_from_settings(lambda cfg: "first")
    second = derived_from_settings(lambda cfg: "second")
    cfg = Config()
    assert (first(cfg), second(cfg)) == ("first", "second")


def test_a_change_made_while_computing_is_not_missed():
    cfg = Config()

    def compute(cfg):
        value = cfg.workers
        if value == 1:
            cfg.set("workers", 6)
        return value

    derived = derived_from_settings(compute)
    assert derived(cfg) == 1
    assert derived(cfg) == 6


def test_objects_without_a_settings_version_compute_every_time():
    compute = Counted()
    derived = derived_from_settings(compute)

    class Stub:
        workers = 1

    class Slotted:
        __slots__ = ("workers",)

        def __init__(self):
            self.workers = 1

    stub, slotted = Stub(), Slotted()
    # A Mock answers any attribute, _settings_version included: still not a Config.
    fake = mock.Mock(workers=1)
    for cfg in (stub, stub, slotted, slotted, fake, fake):
        assert derived(cfg) == 1
    stub.workers = 9
    assert derived(stub) == 9
    assert len(compute.calls) == 7


def test_a_cached_config_stays_alive_so_its_id_is_not_reused():
    derived = derived_from_settings(lambda cfg: cfg)
    cfg = Versioned()
    ref = weakref.ref(cfg)
    assert derived(cfg) is cfg
    del cfg
    gc.collect()
    assert ref() is not None
    derived.cache_clear()
    gc.collect()
    assert ref() is None


def test_a_new_config_at_a_dead_ones_id_gets_its_own_value():
    # Values are numbered and hold no reference to their config, so a config
    # can die and its id come back for the next one.
    numbers = iter(range(1000))
    derived = derived_from_settings(lambda cfg: next(numbers), limit=2)
    value_at_id = {}
    reused = False
    for _ in range(200):
        cfg = Versioned()
        reused = reused or id(cfg) in value_at_id
        value = derived(cfg)
        assert value not in value_at_id.values()
        value_at_id[id(cfg)] = value
        del cfg
    assert reused


def test_memory_is_bounded():
    derived = derived_from_settings(lambda cfg: None, limit=3)
    refs = []
    for _ in range(20):
        cfg = Versioned()
        refs.append(weakref.ref(cfg))
        derived(cfg)
        del cfg
    gc.collect()
    assert sum(ref() is not None for ref in refs) <= 3


def test_wrapper_keeps_the_functions_name_and_doc():
    def facts(cfg):
        """The facts."""

    derived = derived_from_settings(facts)
    assert derived.__name__ == "facts" and derived.__doc__ == "The facts."
    assert derived.__wrapped__ is facts
