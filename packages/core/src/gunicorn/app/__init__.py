"""Applications the arbiter runs: the base classes, the WSGI CLI app, PasteDeploy."""
