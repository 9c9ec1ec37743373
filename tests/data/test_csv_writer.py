"""The fast CSV writer gives the bytes of pandas' to_csv, on awkward values too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_scoring.data.csv_writer import write_csv

AWKWARD_FLOATS = [0.0, -0.0, 1.0, -1.0, 202500.0, 0.1 + 0.2, 1 / 3, 1e-4, 9.99e-5, 1e-5, 2.5e-7]
AWKWARD_FLOATS += [1e14, 123456789012345.6, 1e15, 1e16, 1.5e16, 1e21, 1e300, 5e-324]
AWKWARD_FLOATS += [np.nan, np.inf, -np.inf, 365243.0, -0.000123]


def awkward_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Floats over every magnitude and sign, ints, labels needing quotes, missing values."""
    rng = np.random.default_rng(seed)
    exponents = rng.integers(-12, 22, rows).astype(float)
    floats = rng.choice([-1.0, 1.0], rows) * rng.random(rows) * 10.0**exponents
    floats[: len(AWKWARD_FLOATS)] = AWKWARD_FLOATS[:rows]
    scale = 10.0 ** rng.integers(0, 7, rows)  # 0 to 6 decimals, as the generator rounds
    rounded = np.round(rng.normal(0, 1e5, rows) * scale) / scale + 0.0
    rounded[rng.random(rows) < 0.2] = np.nan
    labels = np.array(["Cash", "Spouse, partner", 'say "hi"', "two\nlines", "", None, "  x"])
    return pd.DataFrame(
        {
            "SK_ID": rng.integers(-(2**62), 2**62, rows),
            "FLOAT": floats,
            "ROUNDED": rounded,
            "LABEL": np.asarray(labels, dtype=object)[rng.integers(0, len(labels), rows)],
            "SMALL_INT": rng.integers(0, 3, rows).astype(np.int8),
            "needs, quote": rng.random(rows),
        }
    )


@pytest.mark.parametrize("block_rows", [7, 1 << 18])
def test_bytes_equal_pandas_to_csv(tmp_path, block_rows):
    frame = awkward_frame(5000)
    write_csv(frame, tmp_path / "fast.csv", block_rows=block_rows)
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"A": [1.0, np.nan], "B": ["x", None]}).iloc[:0],  # header only
        pd.DataFrame({"ONLY": ["a", None, "b"]}),  # a lone empty field is written '""'
        pd.DataFrame({"FLAG": [True, False], "DAY": pd.to_datetime(["2024-01-01", None])}),
        pd.DataFrame({"F32": np.float32([0.1, 2.5]), "ID": [1, 2]}),  # float32 repr differs
    ],
)
def test_edge_frames_equal_pandas(tmp_path, frame):
    write_csv(frame, tmp_path / "fast.csv")
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
