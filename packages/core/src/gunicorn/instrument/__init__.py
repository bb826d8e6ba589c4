"""Loggers that also report server metrics (statsd)."""
