"""The API's history and client stores: mapped from their cache or read into memory, the same
rows."""

from __future__ import annotations

import logging
import os
import stat
import time

import numpy as np
import pandas as pd
import pytest

from credit_scoring.api.file_cache import cache_file, private_folder
from credit_scoring.api.history_store import HistoryStore
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.startup import _cache_dir
from credit_scoring.api.stores import ClientStore
from credit_scoring.tabular import json_scalar

COLUMNS = ["B_COUNT", "B_MEAN", "P_MAX"]


@pytest.fixture
def history_file(tmp_path):
    """A featurize-like history parquet (clients out of order, NaN and int columns)."""
    rng = np.random.default_rng(0)
    ids = rng.permutation(np.arange(100_001, 100_301))
    frame = pd.DataFrame(
        {
            "SK_ID_CURR": ids,
            "B_COUNT": rng.integers(0, 9, len(ids)),
            "B_MEAN": np.where(rng.random(len(ids)) < 0.3, np.nan, rng.normal(size=len(ids))),
            "P_MAX": rng.normal(size=len(ids)) * 1e6,
            "UNUSED": 1.0,
        }
    )
    path = tmp_path / "history.parquet"
    frame.to_parquet(path, index=False)
    return path, frame.set_index("SK_ID_CURR")


def test_mapped_store_serves_the_rows_of_the_file(history_file, tmp_path):
    path, frame = history_file
    mapped = HistoryStore.from_parquet(path, COLUMNS, tmp_path / "cache")
    in_memory = HistoryStore.from_parquet(path, COLUMNS)
    assert isinstance(mapped.values, np.memmap) and not isinstance(in_memory.values, np.memmap)
    asked = [int(i) for i in frame.index[[5, 0, 299, 5]]]
    expected = frame.loc[asked, COLUMNS].to_numpy(dtype="float64")
    for store in (mapped, in_memory):
        assert len(store) == 300 and store.columns == COLUMNS
        np.testing.assert_array_equal(store.rows(asked), expected)
        found = store.positions([asked[0], 1, None, 999_999, asked[2], float(asked[1]), 0.5])
        assert (found[[1, 2, 3, 6]] == -1).all()
        np.testing.assert_array_equal(store.values[found[[0, 4, 5]]], expected[[0, 2, 1]])
    empty = HistoryStore(np.empty(0, "int64"), np.empty((0, len(COLUMNS))), COLUMNS)
    assert empty.positions([asked[0], None]).tolist() == [-1, -1]
    assert in_memory.positions([]).tolist() == []


def test_the_cache_is_reused_and_renewed_when_the_file_changes(history_file, tmp_path):
    """A new output gets new cache files and the earlier ones of that file are deleted (not
    those of another file), while a store still mapping them keeps serving its rows."""
    path, frame = history_file
    cache, elsewhere = tmp_path / "cache", tmp_path / "other" / "history.parquet"
    elsewhere.parent.mkdir()
    frame.reset_index().to_parquet(elsewhere, index=False)
    HistoryStore.from_parquet(elsewhere, COLUMNS, cache)
    others = sorted(cache.iterdir())
    earlier = HistoryStore.from_parquet(path, COLUMNS, cache)
    first = sorted(set(cache.iterdir()) - set(others))
    stamps = [f.stat().st_mtime_ns for f in first]
    HistoryStore.from_parquet(path, COLUMNS, cache)
    assert sorted(cache.iterdir()) == sorted(first + others)
    assert [f.stat().st_mtime_ns for f in first] == stamps
    frame.assign(B_MEAN=7.0).reset_index().to_parquet(path, index=False)
    os.utime(path, ns=(1, 1))  # a new file, whatever the clock's resolution
    store = HistoryStore.from_parquet(path, COLUMNS, cache)
    renewed = sorted(set(cache.iterdir()) - set(others))
    assert len(renewed) == 2 and not set(renewed) & set(first) and all(f.exists() for f in others)
    client = int(frame.index[0])
    assert store.rows([client])[0, 1] == 7.0
    np.testing.assert_array_equal(earlier.rows([client])[0], frame.loc[client, COLUMNS])


def test_abandoned_temporaries_and_copies_of_the_old_names_are_deleted(history_file, tmp_path):
    path, _ = history_file
    cache = tmp_path / "cache"
    cache.mkdir()
    legacy = cache / "0123456789abcdef0123.history.values.npy"  # named before source prefixes
    abandoned = cache / "0123.history.values.npy.999.tmp"
    recent = cache / "4567.history.values.npy.998.tmp"  # maybe a writer at work
    other = cache / "89ab.clients.arrow.997.tmp"
    for file in (legacy, abandoned, recent, other):
        file.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    for file in (legacy, abandoned, other):
        os.utime(file, (two_hours_ago, two_hours_ago))
    HistoryStore.from_parquet(path, COLUMNS, cache)
    assert recent.exists() and other.exists() and not abandoned.exists() and not legacy.exists()


def test_duplicated_clients_and_missing_columns_are_refused(history_file, tmp_path):
    path, frame = history_file
    with pytest.raises(ValueError, match="lacks 1 history features"):
        HistoryStore.from_parquet(path, [*COLUMNS, "MISSING"], tmp_path / "cache")
    pd.concat([frame, frame.iloc[:1]]).reset_index().to_parquet(path, index=False)
    for cache in (tmp_path / "cache", None):
        with pytest.raises(ValueError, match="duplicated SK_ID_CURR"):
            HistoryStore.from_parquet(path, COLUMNS, cache)


def test_an_unusable_cache_folder_falls_back_to_memory(history_file, tmp_path):
    path, frame = history_file
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    store = HistoryStore.from_parquet(path, COLUMNS, blocked / "cache")
    assert not isinstance(store.values, np.memmap)
    np.testing.assert_array_equal(
        store.rows([int(frame.index[3])]), frame.loc[[frame.index[3]], COLUMNS].to_numpy()
    )


def test_a_missing_file_is_an_empty_store(tmp_path):
    store = HistoryStore.from_parquet(tmp_path / "none.parquet", COLUMNS, tmp_path / "cache")
    assert len(store) == 0 and store.positions([1]).tolist() == [-1]
    assert store.values.shape == (0, 3)


def test_the_client_store_renews_its_copy_the_same_way(tmp_path):
    """The production applications' copy (index and JSON lines): reused, renewed when the file
    changes (the earlier copy deleted, and the Arrow copies of earlier versions), and a store
    still mapping it keeps answering."""
    path, cache = tmp_path / "application_test.parquet", tmp_path / "cache"
    frame = pd.DataFrame({"SK_ID_CURR": [100_001, 100_002], "AMT_CREDIT": [1e5, 2e5]})
    frame.to_parquet(path, index=False)
    cache.mkdir()
    arrow_copy = cache_file(path, cache, "clients.arrow", [])  # as an earlier version named it
    arrow_copy.write_bytes(b"")
    os.utime(arrow_copy, ns=(1, 1))
    earlier = ClientStore.from_parquet(path, cache)
    first = sorted(cache.iterdir())
    assert [f.name.split(".", 1)[1] for f in first] == ["clients.index.npy", "clients.rows.jsonl"]
    assert ClientStore.from_parquet(path, cache).get(100_002)["AMT_CREDIT"] == 2e5
    assert sorted(cache.iterdir()) == first
    frame.assign(AMT_CREDIT=3e5).to_parquet(path, index=False)
    os.utime(path, ns=(1, 1))
    store = ClientStore.from_parquet(path, cache)
    renewed = sorted(cache.iterdir())
    assert len(renewed) == 2 and not set(renewed) & set(first)
    assert store.get(100_001)["AMT_CREDIT"] == 3e5 and earlier.get(100_001)["AMT_CREDIT"] == 1e5


@pytest.fixture
def applications_file(tmp_path):
    """An application_test-like parquet: a client twice, missing values, text, a TARGET."""
    frame = pd.DataFrame(
        {
            "SK_ID_CURR": [100_007, 100_003, 100_007, 100_005],
            "TARGET": [0, 1, 1, 0],
            "NAME_CONTRACT_TYPE": ["Cash loans", None, "Revolving loans", "Cash loans"],
            "CNT_CHILDREN": [0, 2, 1, 3],
            "AMT_CREDIT": [1e5 / 3, np.nan, 2e5, 0.1 + 0.2],
            "EXT_SOURCE_1": [np.nan, 0.5, 0.25, np.inf],
        }
    )
    path = tmp_path / "application_test.parquet"
    frame.to_parquet(path, index=False)
    return path, frame


@pytest.mark.parametrize("mapped", [True, False])
def test_the_client_store_serves_each_first_application_as_json(applications_file, mapped):
    """Each client's first row, in file order, TARGET dropped, every value as
    :func:`json_scalar` gives it (NaN and inf as None, integers as int, floats exact)."""
    path, frame = applications_file
    store = ClientStore.from_parquet(path, path.parent / "cache" if mapped else None)
    assert len(store) == 3 and store.ids(10, 0) == [100_007, 100_003, 100_005]
    assert store.ids(1, 1) == [100_003]
    for record in frame.drop(index=2).drop(columns="TARGET").to_dict("records"):
        served = store.get(record["SK_ID_CURR"])
        expected = {column: json_scalar(value) for column, value in record.items()}
        assert served == expected and list(served) == list(expected)
        assert [type(v) for v in served.values()] == [type(v) for v in expected.values()]
    assert store.get(100_001) is None


def test_an_empty_or_missing_applications_file_is_an_empty_store(applications_file, tmp_path):
    path, frame = applications_file
    frame.iloc[:0].to_parquet(path, index=False)
    for source in (path, tmp_path / "none.parquet"):
        store = ClientStore.from_parquet(source, tmp_path / "cache")
        assert len(store) == 0 and store.ids(10, 0) == [] and store.get(100_007) is None


def test_only_a_cache_folder_no_one_else_can_write_in_is_used(tmp_path, caplog):
    """Its copies are served as they are: another user's planted copy would change decisions."""
    created = private_folder(tmp_path / "new" / "cache")
    assert created == tmp_path / "new" / "cache"
    assert stat.S_IMODE(created.stat().st_mode) == 0o700
    readable = tmp_path / "readable"
    readable.mkdir(mode=0o755)
    assert private_folder(readable) == readable
    for name, mode in (("shared", 0o777), ("sticky", 0o1777), ("group", 0o775)):
        folder = tmp_path / name
        folder.mkdir()
        folder.chmod(mode)
        with caplog.at_level(logging.WARNING):
            assert private_folder(folder) is None, name
        assert f"writable by others (mode {mode:o})" in caplog.text
        assert _cache_dir(ApiSettings(cache_dir=str(folder))) is None  # what the API uses
    link = tmp_path / "link"
    link.symlink_to(created)
    assert private_folder(link) is None and "not a directory" in caplog.text
    (tmp_path / "file").write_text("")
    assert private_folder(tmp_path / "file") is None
    assert _cache_dir(ApiSettings(cache_dir=str(created))) == created


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to chown")
def test_another_users_cache_folder_is_not_used(tmp_path, caplog):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, 65534, 65534)
    assert private_folder(folder) is None and "owned by uid 65534" in caplog.text
