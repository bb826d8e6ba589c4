"""A small Flask app served over uwsgi behind nginx in the integration tests."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/hello/<name>")
def hello(name):
    return jsonify(name=name, q=request.args.getlist("q"), scheme=request.scheme,
                   url=request.url, remote=request.remote_addr)


@app.get("/secure/whoami")
def whoami():
    return jsonify(scheme=request.scheme, secure=request.is_secure, url=request.url)


@app.post("/form")
def form():
    return jsonify(fields=request.form.to_dict(flat=False), length=request.content_length)


@app.post("/json")
def echo_json():
    return jsonify(got=request.get_json(), size=len(request.get_data()))


@app.get("/redirect")
def redirect_me():
    from flask import redirect, url_for

    return redirect(url_for("hello", name="there"))
