"""The dirty arbiter as a core arbiter companion (``gunicorn.companions`` entry point)."""


class DirtyCompanion:
    """Placeholder until the arbiter lands: never enabled."""

    @classmethod
    def enabled(cls, cfg):
        return False
