"""``wsgi.errors``: a text stream that lands in the server's error log files."""

import logging
import sys


class ErrorStream:
    """Write-only text stream over the streams of the ``gunicorn.error`` handlers.

    Falls back to ``sys.stderr`` when the error log has no stream handler (for
    example syslog only), so what the app writes is never silently lost.
    """

    def __init__(self, log=None):
        self._log = log

    def _streams(self):
        logger = getattr(self._log, "error_log", None) or logging.getLogger("gunicorn.error")
        streams = [h.stream for h in logger.handlers
                   if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None)]
        return streams or [sys.stderr]

    def write(self, data):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        for stream in self._streams():
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                pass
        return len(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        for stream in self._streams():
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
