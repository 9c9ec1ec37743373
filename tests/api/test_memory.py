"""The worker's glibc heap settings take effect (this machine runs glibc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from credit_scoring.api import memory

pytestmark = pytest.mark.skipif(memory._glibc() is None, reason="not glibc")


def test_large_blocks_stay_mapped_after_frees():
    """With the threshold fixed, a freed 1 MiB block does not make the next ones come from the
    heap: the heap does not grow by them (measured in fresh processes)."""
    script = textwrap.dedent(
        """
        import sys
        from credit_scoring.api import memory
        if sys.argv[1] == "fixed":
            assert memory.map_large_blocks_apart()
        import ctypes
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        libc.sbrk.restype = ctypes.c_void_p
        start, peak = libc.sbrk(0), 0
        for _ in range(20):
            blocks = [libc.malloc(1 << 20) for _ in range(8)]
            peak = max(peak, libc.sbrk(0) - start)
            for block in blocks:
                libc.free(block)
        print(peak)
        """
    )
    grown = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("default", "fixed")
    }
    assert grown["default"] >= 8 << 20  # glibc moved the 1 MiB blocks to the heap
    assert grown["fixed"] < 1 << 20


def test_free_memory_is_given_back():
    """Freed heap blocks under one still in use stay resident until given back (fresh
    processes: resident memory released, with and without the call)."""
    script = textwrap.dedent(
        """
        import ctypes, sys
        from credit_scoring.api import memory
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        def resident():
            return int(open("/proc/self/statm").read().split()[1]) * 4096
        blocks = [libc.malloc(64 << 10) for _ in range(128)]  # the heap: under the threshold
        for block in blocks:
            ctypes.memset(block, 1, 64 << 10)
        for block in blocks[:-1]:  # the last one holds the top of the heap
            libc.free(block)
        before = resident()
        if sys.argv[1] == "given back":
            assert memory.give_back_free_memory()
        print(before - resident())
        """
    )
    released = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("kept", "given back")
    }
    assert released["kept"] < 1 << 20
    assert released["given back"] >= 6 << 20  # most of the 8 MiB freed


def test_a_large_body_gives_the_freed_memory_back_once_answered():
    """An app that leaves 8 MiB of freed heap blocks behind (as a batch's objects do): after a
    request with a large body the middleware gives them back, after a small one it does not
    (fresh processes: resident memory grown by the request)."""
    script = textwrap.dedent(
        """
        import asyncio, ctypes, sys
        from credit_scoring.api.memory import TrimAfterLargeBodies
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        kept = []
        def resident():
            return int(open("/proc/self/statm").read().split()[1]) * 4096

        async def app(scope, receive, send):
            await receive()
            blocks = [libc.malloc(64 << 10) for _ in range(128)]
            for block in blocks:
                ctypes.memset(block, 1, 64 << 10)
            for block in blocks[:-1]:
                libc.free(block)
            kept.append(blocks[-1])  # holds the top of the heap
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
    )
    grown = {
        size: int(
            subprocess.run(
                [sys.executable, "-c", script, str(size)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for size in (1000, 2 << 20)
    }
    assert grown[1000] >= 7 << 20
    assert grown[2 << 20] < 2 << 20
