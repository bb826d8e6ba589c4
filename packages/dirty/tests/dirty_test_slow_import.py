"""A dirty app whose module takes 2 s to import (think torch): the arbiter reads it at start."""

import time

from gunicorn.dirty.app import DirtyApp

time.sleep(2)


class SlowImport(DirtyApp):
    def echo(self, value):
        return value
