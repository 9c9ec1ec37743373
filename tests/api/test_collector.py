"""The garbage collector is paused while any batch runs, and resumes as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from credit_scoring.api.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_inside_and_resumes_after():
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_resumes_after_an_error():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("scoring failed")
    assert gc.isenabled()


def test_it_resumes_when_the_last_of_overlapping_batches_ends():
    first_in, second_done = threading.Event(), threading.Event()
    seen = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(10)
            seen.append(("first, after the second ended", gc.isenabled()))

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(10)
    with collector_paused(), collector_paused():  # nested too
        pass
    seen.append(("second ended", gc.isenabled()))
    second_done.set()
    thread.join(10)
    assert seen == [("second ended", False), ("first, after the second ended", False)]
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
