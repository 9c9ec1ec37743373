"""A fast CSV writer that gives exactly the bytes of ``DataFrame.to_csv(path, index=False)``.

pandas formats every cell through Python objects (about a microsecond a cell); here each block of
rows is formatted column by column with Arrow compute kernels and joined into lines in C++.
Arrow writes the same shortest round-trip digits of a float as Python's ``repr`` but another
notation, so floats are fixed up: ``202500`` gets its ``.0`` back, and the rare values Python
writes in scientific notation (below 1e-4, from 1e16 on) or Arrow does are formatted by ``repr``.
Missing values are empty fields and text is quoted as the ``csv`` module does (only when needed).
Frames with other column dtypes (bool, datetime, ...) are written by pandas itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BLOCK_ROWS = 1 << 18
# Python's repr uses plain decimals for 1e-4 <= |x| < 1e16 (and for zero), else scientific.
PLAIN_LOW, PLAIN_HIGH = 1e-4, 1e16
# A text field is quoted by the csv module (QUOTE_MINIMAL) when it holds one of these.
QUOTE_TRIGGERS = (",", '"', "\n", "\r")


def csv_field(text: str) -> str:
    """One text field as the ``csv`` module writes it (quoted only when it must be)."""
    if any(char in text for char in QUOTE_TRIGGERS):
        return '"' + text.replace('"', '""') + '"'
    return text


def _float_text(values: np.ndarray) -> pa.Array:
    """Python ``repr`` of each float (``""`` for NaN), via Arrow's shortest digits."""
    text = pc.cast(pa.array(values), pa.string())
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        plain = ((magnitude >= PLAIN_LOW) & (magnitude < PLAIN_HIGH)) | (values == 0)
        whole = values == np.trunc(values)  # Arrow writes these without a decimal point
    plain &= ~pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, "0", "."), text)
    odd = np.flatnonzero(~plain & ~np.isnan(values))
    if odd.size:  # Python's own notation for the values Arrow or Python write in scientific
        fixed = pa.array([repr(float(v)) for v in values[odd]], pa.string())
        text = pc.replace_with_mask(text, _mask(odd, len(values)), fixed)
    return pc.if_else(pa.array(np.isnan(values)), "", text)


def _mask(rows: np.ndarray, size: int) -> pa.Array:
    """A boolean Arrow mask that is true at ``rows``."""
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _label_text(values: np.ndarray) -> pa.Array:
    """``str`` of each label, quoted when needed; ``""`` for None / NaN."""
    codes, uniques = pd.factorize(values)
    fields = pa.array([csv_field(str(u)) for u in uniques], pa.string())
    labels = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), fields)
    return pc.fill_null(labels.cast(pa.string()), "")


def _column_text(values: np.ndarray) -> pa.Array:
    """The CSV fields of one column block."""
    if values.dtype.kind in "iu":
        return pc.cast(pa.array(values), pa.string())
    if values.dtype.kind == "f":
        return _float_text(values)
    return _label_text(values)


def _writes_natively(frame: pd.DataFrame) -> bool:
    """Whether every column is integer, float64 or object (the kinds formatted here)."""
    return all(
        isinstance(d, np.dtype) and (d.kind in "iuO" or d == np.float64) for d in frame.dtypes
    )


def write_csv(frame: pd.DataFrame, path: Path | str, block_rows: int = BLOCK_ROWS) -> None:
    """Write ``frame`` as ``frame.to_csv(path, index=False)`` does, byte for byte.

    Args:
        frame: the table (integer, float64 and object columns are formatted here, other
            dtypes make pandas write the whole frame).
        path: destination file.
        block_rows: rows formatted at a time (memory: a few hundred bytes a row).
    """
    if frame.shape[1] < 2 or not _writes_natively(frame):  # csv writes a lone empty field '""'
        frame.to_csv(path, index=False)
        return
    header = ",".join(csv_field(str(c)) for c in frame.columns) + "\n"
    with open(path, "wb") as out:
        out.write(header.encode())
        for start in range(0, len(frame), block_rows):
            block = frame.iloc[start : start + block_rows]
            fields = [_column_text(block.iloc[:, i].to_numpy()) for i in range(block.shape[1])]
            lines = pc.binary_join_element_wise(*fields, ",")
            lines = pc.binary_join_element_wise(lines, "", "\n")  # each line + "\n"
            offsets, data = lines.buffers()[1:3]
            bounds = np.frombuffer(offsets, np.int32)[lines.offset : lines.offset + len(lines) + 1]
            out.write(memoryview(data)[bounds[0] : bounds[-1]])
