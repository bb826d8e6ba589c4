"""A native Tornado application."""

import asyncio
import os
import time

import tornado.web


class Hello(tornado.web.RequestHandler):
    def get(self):
        self.write("hello from tornado")


class Slow(tornado.web.RequestHandler):
    async def get(self):
        await asyncio.sleep(float(self.get_argument("t", "1")))
        self.write(f"slept {os.getpid()}")


app = tornado.web.Application([(r"/", Hello), (r"/slow", Slow)])


class CustomServer(tornado.web.RequestHandler):
    def set_default_headers(self):
        self.set_header("Server", "custom")

    def get(self):
        self.write("custom")


class NoServer(tornado.web.RequestHandler):
    def get(self):
        self.clear_header("Server")
        self.write("none")


class Block(tornado.web.RequestHandler):
    def get(self):
        time.sleep(float(self.get_argument("t", "1")))  # stops the whole event loop
        self.write("blocked")


app.add_handlers(r".*", [(r"/custom-server", CustomServer), (r"/no-server", NoServer),
                         (r"/block", Block)])
