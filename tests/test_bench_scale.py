"""The scale benchmark on a few thousand clients: generate -> ingest -> featurize measured in a
temporary project, the generated CSVs cached and reused, rows per client at the Kaggle ratios."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from credit_scoring.params import compose_params

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location(
    "bench_scale", ROOT / "benchmarks" / "bench_scale.py"
)
bench_scale = sys.modules["bench_scale"] = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench_scale)

CLIENTS = 3000
# Kaggle's rows per client (307,511 + 48,744 clients), which experiment=full_size reproduces.
KAGGLE_ROWS = {
    "bureau": 1_716_428,
    "bureau_balance": 27_299_925,
    "previous_application": 1_670_214,
    "POS_CASH_balance": 10_001_358,
    "installments_payments": 13_605_401,
    "credit_card_balance": 3_840_312,
}
KAGGLE_CLIENTS = 307_511 + 48_744


@pytest.mark.parametrize("gnu_time", [True, False])
def test_measure_sees_the_peak_of_a_child_process(tmp_path, gnu_time):
    grab = "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"
    wall, cpu, peak, _ = bench_scale.measure([sys.executable, "-c", grab], tmp_path, gnu_time)
    assert 300 < peak < 600 and wall > 0 and cpu >= 0


def test_sizes_and_stage_order():
    assert bench_scale.size_overrides("full", None) == ("full", ["experiment=full_size"])
    label, overrides = bench_scale.size_overrides(None, 1000)
    assert label == "clients-1000"
    assert overrides == ["experiment=full_size", "generate.n_train=863", "generate.n_test=137"]
    stages = bench_scale.stage_paths(compose_params(ROOT / "conf", ["data=home_credit"]))
    assert list(stages)[:4] == ["generate", "ingest", "featurize", "train"]
    assert "data/raw" in stages["ingest"]["deps"] and "data/interim" in stages["ingest"]["outs"]
    assert "data/processed/train.parquet" in stages["train"]["deps"]


@pytest.mark.slow
def test_benchmark_until_featurize_and_cached_rerun(tmp_path):
    _, overrides = bench_scale.size_overrides(None, CLIENTS)
    cache = tmp_path / "cache"
    first, generated = bench_scale.run_benchmark(overrides, cache, tmp_path / "a", "featurize")
    assert [f.stage for f in first] == ["generate", "ingest", "featurize"]
    assert all(f.wall_s > 0 and f.peak_rss_mb > 50 and not f.cached for f in first)
    generate, ingest, featurize = first
    rows = sum(generated.values())
    assert generate.rows_in == CLIENTS and generate.rows_out == rows
    assert ingest.rows_in == ingest.rows_out == rows
    quality = json.loads((tmp_path / "a/project/reports/data_quality.json").read_text())
    assert quality["n_errors"] == 0
    assert {t: quality[f"rows.{t}"] for t in generated} == generated
    processed = tmp_path / "a/project/data/processed"
    applications = sum(
        pq.read_metadata(processed / f"{name}.parquet").num_rows
        for name in ("train", "holdout", "production")
    )
    assert applications == CLIENTS
    history = pq.read_metadata(processed / "history.parquet").num_rows
    assert featurize.rows_in == rows and featurize.rows_out == CLIENTS + history
    for table, kaggle in KAGGLE_ROWS.items():
        ratio = (generated[table] / CLIENTS) / (kaggle / KAGGLE_CLIENTS)
        assert 0.85 < ratio < 1.15, (table, ratio)

    again, generated_again = bench_scale.run_benchmark(
        overrides, cache, tmp_path / "b", "ingest", gnu_time=False
    )
    assert [f.stage for f in again] == ["generate", "ingest"]
    assert again[0].cached and again[0].wall_s == generate.wall_s
    assert generated_again == generated and again[1].rows_out == rows
