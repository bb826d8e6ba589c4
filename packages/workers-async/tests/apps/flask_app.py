"""A Flask app whose slow view sleeps with time.sleep (cooperative once monkey-patched)."""

import os
import time

from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def index():
    return "hello from flask"


@app.route("/slow")
def slow():
    time.sleep(float(request.args.get("t", "1")))
    return f"slept {os.getpid()}"


@app.route("/echo", methods=["POST"])
def echo():
    return request.get_data()
