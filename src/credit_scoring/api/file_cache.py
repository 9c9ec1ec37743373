"""Copies of the pipeline's parquet outputs in a form the API maps instead of reading.

A worker that reads a table into its heap holds it alone; a file mapped read-only lives in the
kernel's page cache, shared by every worker, and a worker holds resident only the pages it has
touched. A cache file is named by a fingerprint of its source (path, size, modification time)
and of what is taken from it, so a new pipeline output gets new files. Workers starting together
write the same bytes to temporary files and rename them into place (atomic on one file system).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path


def cache_file(source: Path, cache_dir: Path, kind: str, extra: list[str]) -> Path:
    """The cache file of ``kind`` (e.g. ``history.values.npy``) for ``source`` and ``extra``
    (e.g. the columns taken from it)."""
    stat = source.stat()
    key = "\n".join([str(source.resolve()), str(stat.st_size), str(stat.st_mtime_ns), *extra])
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.{kind}"


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a temporary file next to ``target``, then rename it to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
