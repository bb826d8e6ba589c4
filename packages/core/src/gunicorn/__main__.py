"""``python -m gunicorn``: the same as the ``gunicorn`` command."""

from gunicorn.app.wsgiapp import run

if __name__ == "__main__":
    run(prog="gunicorn")
