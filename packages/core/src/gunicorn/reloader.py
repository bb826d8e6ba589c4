"""Watch the loaded modules and extra files; call back when one changes (``--reload``)."""

import glob
import os
import re
import sys
import threading
import time

# a compiled module's source is what a developer edits
_COMPILED_SUFFIX = re.compile(r"py[co]$")


def _expand(patterns):
    """Paths named by ``patterns``; globs are expanded now, so new matches count."""
    paths = set()
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            paths.update(glob.glob(pattern, recursive=True))
        else:
            paths.add(pattern)
    return paths


def _module_files():
    files = set()
    for module in tuple(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            files.add(_COMPILED_SUFFIX.sub("py", path))
    return files


class Reloader(threading.Thread):
    """Poll engine: stats every watched file each ``interval`` seconds.

    ``extra_files`` may hold glob patterns; they are expanded on every pass,
    so a file created after start is watched too.
    """

    def __init__(self, extra_files=None, interval=1, callback=None):
        super().__init__(name="gunicorn-reloader", daemon=True)
        self._extra_files = set(extra_files or ())
        self._interval = interval
        self._callback = callback

    def add_extra_file(self, filename):
        self._extra_files.add(filename)

    def get_files(self):
        files = _module_files()
        files.update(_expand(self._extra_files))
        return sorted(files)

    def run(self):
        mtimes = {}
        while True:
            for filename in self.get_files():
                try:
                    mtime = os.stat(filename).st_mtime
                except OSError:
                    continue
                previous = mtimes.get(filename)
                mtimes[filename] = mtime
                if previous is not None and mtime > previous and self._callback:
                    self._callback(filename)
            time.sleep(self._interval)


try:
    if not sys.platform.startswith("linux"):
        raise ImportError("inotify is Linux only")
    import inotify.constants
    from inotify.adapters import Inotify
    has_inotify = True
except ImportError:
    has_inotify = False


if has_inotify:

    class InotifyReloader(threading.Thread):
        """inotify engine: watches the directories of loaded modules and extra files."""

        event_mask = (inotify.constants.IN_CREATE | inotify.constants.IN_DELETE
                      | inotify.constants.IN_DELETE_SELF | inotify.constants.IN_MODIFY
                      | inotify.constants.IN_MOVE_SELF | inotify.constants.IN_MOVED_FROM
                      | inotify.constants.IN_MOVED_TO)

        def __init__(self, extra_files=None, callback=None):
            super().__init__(name="gunicorn-reloader", daemon=True)
            self._callback = callback
            self._watcher = Inotify()
            self._dirs = set()
            self._extra_files = set(extra_files or ())

        def add_extra_file(self, filename):
            self._extra_files.add(filename)
            self._watch(os.path.dirname(os.path.abspath(filename)))

        def _watch(self, dirname):
            if dirname in self._dirs or not os.path.isdir(dirname):
                return
            self._watcher.add_watch(dirname, mask=self.event_mask)
            self._dirs.add(dirname)

        def get_dirs(self):
            files = _module_files() | _expand(self._extra_files)
            return {os.path.dirname(os.path.abspath(f)) for f in files}

        def run(self):
            for dirname in self.get_dirs():
                self._watch(dirname)
            for event in self._watcher.event_gen():
                if event is None:
                    # idle tick: pick up directories of newly matched globs
                    for dirname in self.get_dirs():
                        self._watch(dirname)
                    continue
                _, _, directory, filename = event
                if self._callback:
                    self._callback(os.path.join(directory, filename))

else:

    class InotifyReloader:
        """Stand-in that explains how to get the inotify engine."""

        def __init__(self, extra_files=None, callback=None):
            raise ImportError("You must have the inotify module installed to use "
                              "the inotify reloader: pip install inotify")


preferred_reloader = InotifyReloader if has_inotify else Reloader

reloader_engines = {
    "auto": preferred_reloader,
    "poll": Reloader,
    "inotify": InotifyReloader,
}
