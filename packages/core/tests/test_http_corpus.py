"""The raw request corpus (tests/corpus) run in-process, whole and split into pieces."""

import pytest
from corpus import CASES
from corpus.inprocess import check, run


def test_corpus_is_big_enough():
    assert len(CASES) >= 150
    assert sum(1 for c in CASES if c.expect_status == 200) >= 50
    assert sum(1 for c in CASES if c.expect_status not in (200, None)) >= 100


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_whole(case):
    check(case, run(case.raw, case.settings))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_byte_by_byte(case):
    raw = case.raw
    if len(raw) > 20000:
        pytest.skip("byte-by-byte feeding of a 20 kB+ case is covered whole")
    chunks = [raw[i:i + 1] for i in range(len(raw))]
    check(case, run(raw, case.settings, chunks))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_with_peer_half_closed_up_front(case):
    # Like a client that sends everything then shuts down its write side:
    # every complete pipelined request is still answered.
    check(case, run(case.raw, case.settings, close_early=True))
