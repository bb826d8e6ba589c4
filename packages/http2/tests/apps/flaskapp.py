"""A Flask app for the HTTP/2 integration tests."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/hello/<name>")
def hello(name):
    return jsonify(name=name, protocol=request.environ["SERVER_PROTOCOL"],
                   args=request.args.to_dict())


@app.route("/upload", methods=["POST"])
def upload():
    data = request.get_data()
    return jsonify(size=len(data), form=request.form.to_dict())
