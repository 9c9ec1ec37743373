"""A lean API worker: what only loading needs runs in a child process.

The pipeline writes parquet, but a worker only maps numpy and JSON-lines copies of it
(:mod:`credit_scoring.api.file_cache`). pandas imports pyarrow whenever it is installed, and
pyarrow's libraries would stay resident in every worker (about 50 MB each); MLflow, imported to
resolve and fetch the registered model, would hold some 80 MB more. :func:`keep_arrow_out`
makes a server process lean (:mod:`credit_scoring.api.asgi`), before pandas is first imported;
:func:`call_in_child` then runs the parquet readers and the registry look-up in a spawned child
there, and directly in a process that is not lean (the tests, the pipeline, a notebook).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import json
import logging
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from credit_scoring.api.file_cache import write_atomically

if TYPE_CHECKING:  # pandas is imported after keep_arrow_out() ran
    import pandas as pd

logger = logging.getLogger(__name__)

Result = TypeVar("Result")


class ArrowBlocker(importlib.abc.MetaPathFinder):
    """An import finder that refuses pyarrow and its modules (a ``None`` in ``sys.modules``
    would not do: pandas' compiled modules take it for the module)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError(f"{name}: Arrow is kept out of this process", name=name)
        return None


def keep_arrow_out() -> bool:
    """Make ``import pyarrow`` fail in this process (pandas then runs without it), unless
    pyarrow or pandas is loaded already; True when Arrow is kept out."""
    if not ({"pyarrow", "pandas"} & sys.modules.keys()) and not arrow_kept_out():
        sys.meta_path.insert(0, ArrowBlocker())
    return arrow_kept_out()


def arrow_kept_out() -> bool:
    """Whether :func:`keep_arrow_out` took effect in this process."""
    return any(isinstance(finder, ArrowBlocker) for finder in sys.meta_path)


def start_in_child(
    function: Callable[..., Result], /, *args: Any, **kwargs: Any
) -> tuple[ProcessPoolExecutor, Future[Result]]:
    """A spawned child process (a fresh interpreter: Arrow importable) and the future of
    ``function(*args, **kwargs)`` running in it (``function`` importable by name, its arguments
    and result picklable); shut the child down once the result is taken."""
    context = multiprocessing.get_context("spawn")
    child = ProcessPoolExecutor(max_workers=1, mp_context=context)
    return child, child.submit(function, *args, **kwargs)


def call_in_child(function: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
    """``function(*args, **kwargs)``, in a spawned child process when this one is lean (Arrow
    kept out; see :func:`start_in_child`; the child's exception is raised here)."""
    if not arrow_kept_out():
        return function(*args, **kwargs)
    child, result = start_in_child(function, *args, **kwargs)
    with child:
        return result.result()


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The parquet file ``path`` (only those of ``columns`` it has, when given)."""
    return call_in_child(_read_present_columns, Path(path), columns)


def _read_present_columns(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pandas as pd

    if columns is not None:
        import pyarrow.parquet as pq

        available = set(pq.read_schema(path).names)
        columns = [c for c in columns if c in available]
    return pd.read_parquet(path, columns=columns)


def cached_frame(path: Path, cache_dir: Path | None) -> pd.DataFrame:
    """The small parquet file ``path`` (e.g. a model's SHAP background), read once into a JSON
    copy in ``cache_dir`` named by its content, so that a later start needs no child. JSON, not
    a pickle: the cache folder may be a shared temporary one, and loading it runs no code."""
    path = Path(path)
    if cache_dir is None:
        return read_parquet(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    copy = Path(cache_dir) / f"{digest}.frame.json"
    if copy.is_file():
        try:
            return _read_frame(copy)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s unreadable (%s): read again", copy, exc)
    frame = read_parquet(path)
    try:
        write_atomically(copy, lambda target: _write_frame(frame, target))
    except OSError as exc:
        logger.warning("%s not cached in %s: %s", path.name, cache_dir, exc)
    return frame


def _write_frame(frame: pd.DataFrame, target: Path) -> None:
    """``frame``'s columns, dtypes and values as JSON (NaN and infinities as JSON's extensions,
    so that every float comes back as it was)."""
    columns = {
        "columns": list(frame.columns),
        "dtypes": [str(dtype) for dtype in frame.dtypes],
        "values": [frame[column].tolist() for column in frame.columns],
    }
    target.write_text(json.dumps(columns), encoding="utf-8")


def _read_frame(path: Path) -> pd.DataFrame:
    import pandas as pd

    copy = json.loads(path.read_text(encoding="utf-8"))
    series = {
        column: pd.Series(values, dtype=dtype)
        for column, dtype, values in zip(
            copy["columns"], copy["dtypes"], copy["values"], strict=True
        )
    }
    return pd.DataFrame(series, columns=copy["columns"])
