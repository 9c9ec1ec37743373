"""What every stage script shares: logging setup, params loading, one-line failures."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from credit_scoring.data.errors import DataError

# Failures a user can fix (bad input: raw files, validation rules; a missing upstream output):
# one clear message, no traceback. Only the base class is imported, so that a stage does not
# import (and depend on, in dvc.yaml) the validation rules it never runs.
USER_ERRORS = (DataError, FileNotFoundError)


def setup_logging(level: int = logging.INFO) -> None:
    """Timestamped progress lines on stderr."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("alembic", "mlflow", "urllib3", "matplotlib", "numba", "shap"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Cloudpickle is a deliberate choice (see tracking.SERIALIZATION): no warning per model.
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a user error exits 1 with its message on one line of stderr.

    BLAS runs on one thread: its kernels split sums by thread count, so the last digits would
    depend on the machine's cores (the boosters and forests set their own thread counts).
    """
    setup_logging()
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            main()
    except USER_ERRORS as exc:
        name = Path(sys.argv[0]).stem
        print(f"stage {name} failed: {exc}", file=sys.stderr)
        sys.exit(1)
    exit_skipping_native_teardown()


def exit_skipping_native_teardown() -> None:
    """Flush and exit 0 without the interpreter's teardown.

    The stage's work is written and closed by then. The native libraries it loaded (Arrow,
    OpenMP runtimes, boosters) keep worker threads; destroying them at interpreter exit
    occasionally aborts the finished process ("terminate called without an active exception",
    exit -6, seen once in nine tiny runs of the register stage here), which DVC takes for a
    failed stage.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def write_json(data: Any, path: Path | str) -> Path:
    """Write ``data`` as indented JSON with sorted keys (stable diffs), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_json(path: Path | str) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    from credit_scoring.data.io import require_output  # pyarrow: not in the API worker

    return json.loads(require_output(path).read_text(encoding="utf-8"))


def mlflow_tracking_uri(params: dict[str, Any]) -> str:
    """The tracking URI: ``MLFLOW_TRACKING_URI`` when set, else ``mlflow.tracking_uri``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or params["mlflow"]["tracking_uri"]
