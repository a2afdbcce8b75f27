"""The framework's floor for the page benchmark: a bare Flask app answering "hello", served by
the same server (gunicorn, same workers and threads) beside the product. Every page's requests
per second is reported as a share of this one's, measured in the same run."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "hello"
