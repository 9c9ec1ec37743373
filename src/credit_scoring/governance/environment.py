"""The numeric environment of a run: what can change the last digits of a model's numbers.

Same code, params and data give the same bytes on one machine; another CPU, BLAS kernel or
thread setting may change the last digits of fitted models (never the data stages). The release
record keeps these facts so that an audit elsewhere can name the likely cause of a difference.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_info

# Environment variables that change numeric kernels or their thread counts.
NUMERIC_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_NUM_THREADS",
    "MKL_CBWR",
    "MKL_ENABLE_INSTRUCTIONS",
)
NUMERIC_PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "xgboost-cpu",
    "xgboost",
    "lightgbm",
    "pandas",
    "pyarrow",
)


def _cpu() -> tuple[str, str]:
    """The CPU model name and a short hash of its feature flags (Linux), else platform facts."""
    cpuinfo = Path("/proc/cpuinfo")
    model, flags = platform.processor() or platform.machine(), ""
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = " ".join(sorted(value.split()))
    return model, hashlib.sha256(flags.encode()).hexdigest()[:16] if flags else "unknown"


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def numeric_environment() -> dict[str, Any]:
    """CPU, BLAS/OpenMP libraries (kernel and threads), numeric variables and package versions."""
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    import scipy.linalg  # noqa: F401
    import sklearn.ensemble  # noqa: F401  (loads OpenMP)

    model, flags = _cpu()
    libraries = sorted(
        {
            " ".join(
                str(lib[key])
                for key in ("internal_api", "version", "architecture")
                if lib.get(key)
            )
            for lib in threadpool_info()
        }
    )
    packages = {name: installed_version(name) for name in NUMERIC_PACKAGES}
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu": model,
        "cpu_flags_sha256": flags,
        "cpu_count": os.cpu_count(),
        "numeric_libraries": libraries,
        "numeric_variables": {k: os.environ[k] for k in NUMERIC_VARIABLES if k in os.environ},
        "packages": {name: version for name, version in packages.items() if version},
    }


def environment_differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The keys (``packages.numpy`` for nested ones) whose values differ; keys only one side
    has count when the recorded side has any (records older than this module have none)."""
    differing = []
    for key in sorted(set(recorded) | set(current)):
        before, after = recorded.get(key), current.get(key)
        if isinstance(before, dict) or isinstance(after, dict):
            before, after = before or {}, after or {}
            differing += [
                f"{key}.{name}"
                for name in sorted(set(before) | set(after))
                if before.get(name) != after.get(name)
            ]
        elif before != after and key in recorded:
            differing.append(key)
    return differing
