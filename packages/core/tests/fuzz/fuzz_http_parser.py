"""atheris fuzz target: any bytes, any split, any parser settings either parse or raise ParseError.

Run (bounded):
    .venv/bin/python packages/core/tests/fuzz/fuzz_http_parser.py -max_total_time=60 \
        packages/core/tests/fuzz/corpus_seed
The seed directory is filled from tests/corpus on first run.
"""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # packages/core/tests, for ``corpus``

with atheris.instrument_imports():
    from corpus.inprocess import run

    from gunicorn.http.errors import LocalProtocolError

MODES = ("off", "v1", "v2", "auto")
HEADER_MAPS = ("drop", "refuse", "dangerous")


def settings_from(fdp):
    flags = fdp.ConsumeIntInRange(0, 255)
    return {
        "permit_obsolete_folding": bool(flags & 1),
        "strip_header_spaces": bool(flags & 2),
        "permit_unconventional_http_method": bool(flags & 4),
        "permit_unconventional_http_version": bool(flags & 8),
        "casefold_http_method": bool(flags & 16),
        "header_map": HEADER_MAPS[fdp.ConsumeIntInRange(0, 2)],
        "proxy_protocol": MODES[fdp.ConsumeIntInRange(0, 3)],
        "limit_request_line": (0, 16, 4094)[fdp.ConsumeIntInRange(0, 2)],
        "limit_request_fields": (1, 4, 100)[fdp.ConsumeIntInRange(0, 2)],
        "limit_request_field_size": (0, 16, 8190)[fdp.ConsumeIntInRange(0, 2)],
    }


def test_one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    options = settings_from(fdp)
    step = fdp.ConsumeIntInRange(0, 64)
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    chunks = None
    if step and raw:
        chunks = [raw[i:i + step] for i in range(0, len(raw), step)]
    try:
        # run() answers each request with 200 and catches ParseError; any
        # other exception (or NEED_DATA after EOF) is a bug.
        run(raw, options, chunks)
    except LocalProtocolError as exc:
        raise AssertionError("driver misuse reported as %r" % (exc,)) from exc


def seed(directory):
    from corpus import CASES

    os.makedirs(directory, exist_ok=True)
    if os.listdir(directory):
        return
    for number, case in enumerate(CASES):
        # 6 setting bytes (all zero: defaults), then a step of 0 (no split).
        with open(os.path.join(directory, "case%03d" % number), "wb") as f:
            f.write(b"\x00" * 7 + case.raw)


def main():
    seed_dirs = [a for a in sys.argv[1:] if not a.startswith("-")]
    for directory in seed_dirs:
        seed(directory)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
