"""glibc heap settings of a long-lived API worker (nothing happens without glibc).

Every thread of the worker allocates from one heap arena (:func:`share_one_heap_arena`): glibc
gives each thread its own by default, and ``malloc_trim`` never shrinks the top of a thread's
arena. After startup, glibc's thresholds are fixed at the ceilings it would raise them to itself
(:func:`keep_freed_blocks`: blocks up to 32 MiB from the heap, its top shrunk from 64 MiB free),
so a batch's arrays come from the heap and the pages they leave serve the next batch. Those
pages :func:`give_back_free_memory` returns to the system after startup, and after a request
with a large body once the worker's resident memory is over its budget
(:class:`TrimAfterLargeBodies`). Measured in process on the real sample, a batch of 1,000 took
8,000 page faults and about 20 ms more when its pages were given back after every batch, and
20,000 faults and 45–60 ms more with blocks of 128 KiB and more mapped apart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache
from typing import Any

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# glibc's ceilings for the thresholds it raises itself (64-bit): blocks up to 32 MiB come from
# the heap, whose top is shrunk once 64 MiB of it is free.
HEAP_BLOCKS_UP_TO = 32 << 20
SHRINK_HEAP_TOP_FROM = 64 << 20
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TRIM_AFTER_BODY_BYTES = 1 << 20  # a batch of about 300 applications


@cache
def _glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def share_one_heap_arena() -> bool:
    """Make the threads created from now on allocate from the main arena; whether it was set.
    Call it before the worker's threads start (a thread keeps the arena it first used)."""
    libc = _glibc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, 1) == 1


def keep_freed_blocks() -> bool:
    """Fix glibc's thresholds at their ceilings (glibc raises them only after a large block is
    freed, block by block): a batch's arrays come from the heap and the pages they leave are
    kept for the next one instead of mapped afresh. Whether both were set."""
    libc = _glibc()
    return (
        libc is not None
        and libc.mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO) == 1
        and libc.mallopt(M_TRIM_THRESHOLD, SHRINK_HEAP_TOP_FROM) == 1
    )


def resident_bytes() -> int | None:
    """The process's resident memory (Linux ``/proc/self/statm``), or None elsewhere."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return None


def over_budget(budget_bytes: int) -> bool:
    """Whether resident memory is over ``budget_bytes`` (0, or memory unknown: always)."""
    resident = resident_bytes() if budget_bytes > 0 else None
    return resident is None or resident > budget_bytes


def give_back_free_memory() -> bool:
    """Return the heap's free pages to the system (``malloc_trim``); whether any were."""
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1


class TrimAfterLargeBodies:
    """ASGI middleware: once a request whose body had ``min_bytes`` or more is answered (its
    objects freed), :func:`give_back_free_memory` if the process is :func:`over_budget`."""

    def __init__(
        self, app: Any, min_bytes: int = TRIM_AFTER_BODY_BYTES, budget_bytes: int = 0
    ) -> None:
        self.app = app
        self.min_bytes = min_bytes
        self.budget_bytes = budget_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, counting_receive, send)
        finally:
            if received >= self.min_bytes and over_budget(self.budget_bytes):
                give_back_free_memory()
