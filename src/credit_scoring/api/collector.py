"""The cyclic garbage collector paused while a batch is scored.

A batch of 1,000 applications builds and frees some 100,000 objects, none of them in a reference
cycle: reference counting frees them all, but their allocations set off collections of the young
generations and, every few batches, a full one (8-10 ms a batch of 1,000 on the real sample).
While any batch runs, the collector is paused; it resumes when the last one ends, unless it was
already disabled before. Cycles made meanwhile (an exception's traceback) are collected then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0  # batches in progress
_resume = False  # whether the collector was enabled when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the garbage collector for the ``with`` block (nested and concurrent blocks
    included: it resumes when the last one ends, if it was enabled when the first began)."""
    global _running, _resume
    with _lock:
        if _running == 0:
            _resume = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _resume:
                gc.enable()
