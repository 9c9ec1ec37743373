"""Copies of the pipeline's parquet outputs in a form the API maps instead of reading.

A worker that reads a table into its heap holds it alone; a file mapped read-only lives in the
kernel's page cache, shared by every worker, and a worker holds resident only the pages it has
touched. A cache file is named by a fingerprint of its source (path, size, modification time)
and of what is taken from it, so a new pipeline output gets new files. Workers starting together
write the same bytes to temporary files and rename them into place (atomic on one file system).
A worker that writes a new cache file deletes the files of that kind and that same source path
written before it (copies of earlier outputs: at the Kaggle size, 0.5 GB per featurize run; the
copies of other sources, e.g. another project's API, are left alone) and the temporary files of
that kind abandoned an hour or more ago by a writer that died. A worker still mapping a deleted
file keeps its pages: the name goes, not the mapping.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

ABANDONED_TEMPORARY_SECONDS = 3600

Store = TypeVar("Store")


def private_folder(folder: Path) -> Path | None:
    """``folder``, created if missing (mode 0700), when only this user can write in it; else
    None, and the stores are read into memory. Its files are served as they are: in a shared
    temporary folder, another user's planted copy would change the decisions."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = folder.lstat()
    except OSError as exc:
        logger.warning("cache folder %s unusable (%s): stores read into memory", folder, exc)
        return None
    problems = []
    if not stat.S_ISDIR(found.st_mode):
        problems.append("not a directory")
    if hasattr(os, "getuid") and found.st_uid != os.getuid():  # POSIX owners
        problems.append(f"owned by uid {found.st_uid}")
    if found.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problems.append(f"writable by others (mode {stat.S_IMODE(found.st_mode):o})")
    if problems:
        reasons = ", ".join(problems)
        logger.warning("cache folder %s not private (%s): stores kept in memory", folder, reasons)
        return None
    return folder


def load_copies(
    source: Path,
    cache_dir: Path | None,
    kinds: tuple[str, ...],
    extra: list[str],
    write: Callable[..., None],
    load: Callable[[list[Path], bool], Store],
    retired: tuple[str, ...] = (),
) -> Store:
    """``load(files, mapped)`` of the copies of ``source`` that ``write(*files)`` makes, one
    file of each of ``kinds``: the cache's (written first when missing, then the earlier files
    of those kinds and of the ``retired`` ones deleted), for ``load`` to map; else, when
    ``cache_dir`` is None or unusable, temporary ones for ``load`` to read into memory."""
    if cache_dir is not None:
        try:
            files = [cache_file(source, Path(cache_dir), kind, extra) for kind in kinds]
            if not all(file.is_file() for file in files):
                write(*files)
                for file, kind in zip(files, kinds, strict=True):
                    remove_earlier(file, kind)
                for kind in retired:
                    remove_earlier(files[0], kind)
                logger.info("%s copied to %s", source, cache_dir)
            return load(files, True)
        except OSError as exc:
            logger.warning("cache %s unusable (%s): %s read into memory", cache_dir, exc, source)
    with tempfile.TemporaryDirectory() as folder:
        files = [Path(folder) / kind for kind in kinds]
        write(*files)
        return load(files, False)


def cache_file(source: Path, cache_dir: Path, kind: str, extra: list[str]) -> Path:
    """The cache file of ``kind`` (e.g. ``history.values.npy``) for ``source`` and ``extra``
    (e.g. the columns taken from it)."""
    stat = source.stat()
    key = "\n".join([str(source.resolve()), str(stat.st_size), str(stat.st_mtime_ns), *extra])
    return cache_dir / f"{_source_prefix(source)}-{_digest(key, 20)}.{kind}"


def _source_prefix(source: Path) -> str:
    """The part of a cache file's name that only depends on its source's path."""
    return _digest(str(source.resolve()), 8)


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` fill a temporary file next to ``target``, then rename it to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def remove_earlier(current: Path, kind: str) -> list[Path]:
    """Delete the cache files of ``kind`` of the same source as ``current`` (or named before
    names had a source prefix) written before it, and the temporary files of ``kind`` abandoned
    :data:`ABANDONED_TEMPORARY_SECONDS` ago; return them. A file another process deletes first
    is skipped."""
    written = current.stat().st_mtime
    abandoned = time.time() - ABANDONED_TEMPORARY_SECONDS
    same_source = current.name.split("-", 1)[0]
    removed = []
    patterns = (
        (f"{same_source}-*.{kind}", written),
        ("?" * 20 + f".{kind}", written),  # named before the source prefix: any source
        (f"*.{kind}.*.tmp", abandoned),
    )
    for pattern, before in patterns:
        for path in current.parent.glob(pattern):
            try:
                if path != current and path.stat().st_mtime < before:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue
    if removed:
        logger.info("cache: %d earlier %s file(s) deleted", len(removed), kind)
    return removed
