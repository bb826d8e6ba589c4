"""A native Tornado application."""

import asyncio
import os

import tornado.web


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write("hello from tornado")


class Slow(tornado.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(float(self.get_argument("t", "1")))
        self.write(f"slept {os.getpid()}")


app = tornado.web.Application([(r"/", Hello), (r"/slow", Slow)])
