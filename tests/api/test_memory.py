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


def test_free_memory_can_be_given_back():
    memory.give_back_free_memory()  # runs on glibc; returns whether pages were released
