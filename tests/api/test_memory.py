"""The worker's glibc heap settings take effect (this machine runs glibc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from credit_scoring.api import memory

pytestmark = pytest.mark.skipif(memory._glibc() is None, reason="not glibc")


# Prepended to each fresh-process script: glibc's malloc and free, the process's resident bytes,
# and a heap left with 8 MiB freed under a block still in use (as a batch's objects leave it).
PRELUDE = textwrap.dedent(
    """
    import ctypes, sys
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    kept = []
    def resident():
        return int(open("/proc/self/statm").read().split()[1]) * 4096
    def leave_freed_blocks():
        blocks = [libc.malloc(64 << 10) for _ in range(128)]  # the heap: under the threshold
        for block in blocks:
            ctypes.memset(block, 1, 64 << 10)
        for block in blocks[:-1]:
            libc.free(block)
        kept.append(blocks[-1])  # holds the top of the heap
    """
)


def in_fresh_processes(script: str, arguments: tuple[Any, ...]) -> dict[Any, int]:
    """Per argument, the integer printed by a fresh process running :data:`PRELUDE` then
    ``script`` (the argument is its ``sys.argv[1]``)."""
    return {
        argument: int(
            subprocess.run(
                [sys.executable, "-c", PRELUDE + textwrap.dedent(script), str(argument)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for argument in arguments
    }


def test_memory_freed_by_a_thread_is_given_back_with_one_arena():
    """Once glibc has raised its thresholds (a large block freed, as after a batch's arrays),
    the top of a thread's own arena stays resident after a trim; with one arena shared by the
    threads it is given back (fresh processes: resident memory released by the trim)."""
    script = """
        import threading
        from credit_scoring.api import memory
        if sys.argv[1] == "one arena":
            assert memory.share_one_heap_arena()
        libc.free(libc.malloc(16 << 20))  # mapped apart; glibc raises its thresholds
        def score():
            blocks = [libc.malloc(1 << 20) for _ in range(8)]  # now from the heap
            for block in blocks:
                ctypes.memset(block, 1, 1 << 20)
            for block in blocks:
                libc.free(block)
        thread = threading.Thread(target=score)
        thread.start()
        thread.join()
        before = resident()
        memory.give_back_free_memory()
        print(before - resident())
        """
    released = in_fresh_processes(script, ("arena per thread", "one arena"))
    assert released["arena per thread"] < 1 << 20
    assert released["one arena"] >= 6 << 20  # most of the 8 MiB freed


def test_free_memory_is_given_back():
    """Freed heap blocks under one still in use stay resident until given back (fresh
    processes: resident memory released, with and without the call)."""
    script = """
        from credit_scoring.api import memory
        leave_freed_blocks()
        before = resident()
        if sys.argv[1] == "given back":
            assert memory.give_back_free_memory()
        print(before - resident())
        """
    released = in_fresh_processes(script, ("kept", "given back"))
    assert released["kept"] < 1 << 20
    assert released["given back"] >= 6 << 20  # most of the 8 MiB freed


def test_freed_blocks_are_kept_for_the_next_batch():
    """Blocks of 1 MiB (a batch's arrays) freed then asked for again: with glibc's thresholds
    fixed, the second round reuses the heap's pages; by default each block is mapped afresh and
    every page faults again (fresh processes: page faults of the second round)."""
    script = """
        import resource
        from credit_scoring.api import memory
        if sys.argv[1] == "kept":
            assert memory.keep_freed_blocks()
        def batch():
            blocks = [libc.malloc(1 << 20) for _ in range(8)]
            for block in blocks:
                ctypes.memset(block, 1, 1 << 20)
            for block in blocks:
                libc.free(block)
        batch()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        batch()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    faults = in_fresh_processes(script, ("default", "kept"))
    assert faults["default"] >= 1500  # 8 MiB is 2,048 pages of 4 KiB
    assert faults["kept"] < 100


def test_a_large_body_gives_the_freed_memory_back_once_answered():
    """An app that leaves 8 MiB of freed heap blocks behind (as a batch's objects do): after a
    request with a large body the middleware gives them back, after a small one it does not
    (fresh processes: resident memory grown by the request)."""
    script = """
        import asyncio
        from credit_scoring.api.memory import TrimAfterLargeBodies

        async def app(scope, receive, send):
            await receive()
            leave_freed_blocks()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})

        body = b"x" * int(sys.argv[1])
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}
        async def send(message):
            pass
        before = resident()
        asyncio.run(TrimAfterLargeBodies(app, min_bytes=1 << 20)({"type": "http"}, receive, send))
        print(resident() - before)
        """
    grown = in_fresh_processes(script, (1000, 2 << 20))
    assert grown[1000] >= 7 << 20
    assert grown[2 << 20] < 2 << 20


def test_under_its_memory_budget_a_worker_keeps_the_freed_memory():
    """The same app and a large body: a process over its budget gives the 8 MiB back, one under
    it keeps them for the next request (fresh processes: resident memory grown)."""
    script = """
        import asyncio
        from credit_scoring.api.memory import TrimAfterLargeBodies, resident_bytes

        async def app(scope, receive, send):
            await receive()
            leave_freed_blocks()
            await send({"type": "http.response.start", "status": 200, "headers": []})

        body = b"x" * (2 << 20)
        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}
        async def send(message):
            pass
        budget = resident_bytes() + int(sys.argv[1])  # over or under what the app leaves
        trim = TrimAfterLargeBodies(app, min_bytes=1 << 20, budget_bytes=budget)
        before = resident()
        asyncio.run(trim({"type": "http"}, receive, send))
        print(resident() - before)
        """
    grown = in_fresh_processes(script, (1 << 20, 64 << 20))
    assert grown[1 << 20] < 2 << 20  # over the budget: given back
    assert grown[64 << 20] >= 7 << 20  # under it: kept
