"""Request ids: UUIDv7 strings, strictly increasing, telling the time they were made."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from credit_scoring.api import request_ids as module
from credit_scoring.api.request_ids import request_ids


def id_ms(request_id: str) -> int:
    """The Unix time (ms) a UUIDv7 holds."""
    return uuid.UUID(request_id).int >> 80


def test_ids_are_uuid7_strings_strictly_increasing():
    ids = [i for n in (1, 1000, 0, 7) for i in request_ids(n)]
    parsed = [uuid.UUID(i) for i in ids]
    assert len(ids) == 1008
    assert ids == sorted(set(ids))  # unique and increasing, as text and as numbers
    assert [p.int for p in parsed] == sorted(p.int for p in parsed)
    assert {p.version for p in parsed} == {7}
    assert {p.variant for p in parsed} == {uuid.RFC_4122}
    assert ids == [str(p) for p in parsed]  # canonical form: lowercase, hyphenated


def test_ids_tell_the_time_they_were_made():
    """A steady load of batches does not move the ids' time ahead of the clock (uuid6's
    uuid7 moved it one ms ahead per id: 10,000 ids, 10 s ahead)."""
    before = time.time_ns() // 1_000_000
    ids = [i for _ in range(10) for i in request_ids(1000)]
    after = time.time_ns() // 1_000_000
    assert before <= id_ms(ids[0]) and id_ms(ids[-1]) <= after + 3  # <= 4,096 ids a ms


def test_a_full_counter_moves_on_to_the_next_ms(monkeypatch):
    frozen = 1_800_000_000_000
    monkeypatch.setattr(module, "_last", (0, -1))
    monkeypatch.setattr(module.time, "time_ns", lambda: frozen * 1_000_000)
    ids = request_ids(5000)
    assert [id_ms(ids[i]) for i in (0, 4095, 4096, 4999)] == [frozen] * 2 + [frozen + 1] * 2
    assert ids == sorted(set(ids))


def test_ids_keep_increasing_when_the_clock_goes_back(monkeypatch):
    clock = iter([2_000_000_000_000, 1_999_999_999_000])
    monkeypatch.setattr(module, "_last", (0, -1))
    monkeypatch.setattr(module.time, "time_ns", lambda: next(clock) * 1_000_000)
    first, second = request_ids(3), request_ids(3)
    assert first + second == sorted(set(first + second))
    assert id_ms(second[-1]) == 2_000_000_000_000


@pytest.mark.timeout(60)
def test_threads_get_distinct_increasing_blocks():
    made: list[list[str]] = []

    def make() -> None:
        for _ in range(50):
            made.append(request_ids(100))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [i for block in made for i in block]
    assert len(set(ids)) == len(ids) == 20_000
    assert all(block == sorted(block) for block in made)
