"""The synthetic Home Credit generator: schema, keys, marginals, determinism, learnable signal."""

from __future__ import annotations

import lightgbm as lgb
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credit_scoring.config import GenerateConfig
from credit_scoring.data import schema
from credit_scoring.data.synthetic import generate_tables, write_tables

SMALL = GenerateConfig(seed=7, n_train=400, n_test=100, target_rate=0.08, history_scale=0.3)
MEDIUM = GenerateConfig(seed=11, n_train=3000, n_test=1000, target_rate=0.08, history_scale=0.5)
LOAN_TABLES = ("POS_CASH_balance", "installments_payments", "credit_card_balance")


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate_tables(SMALL)


@pytest.fixture(scope="module")
def medium() -> dict[str, pd.DataFrame]:
    return generate_tables(MEDIUM)


def expected_columns(table: str) -> list[str]:
    columns = schema.table_columns(table)
    return [c for c in columns if c != schema.TARGET] if table == "application_test" else columns


def test_every_table_has_the_kaggle_columns_in_order(small):
    assert list(small) == list(schema.TABLES)
    for table, frame in small.items():
        assert list(frame.columns) == expected_columns(table), table
        assert len(frame) > 0, table
    assert len(small["application_train"]) == SMALL.n_train
    assert len(small["application_test"]) == SMALL.n_test


def test_column_kinds_follow_the_schema(small):
    for table, frame in small.items():
        for column, kind in schema.column_kinds(table).items():
            if column not in frame:
                continue
            dtype = frame[column].dtype
            if kind == "int":
                assert pd.api.types.is_integer_dtype(dtype), (table, column)
            elif kind == "float":
                assert pd.api.types.is_float_dtype(dtype), (table, column)
            else:
                assert pd.api.types.is_object_dtype(dtype), (table, column)


def test_client_ids_are_unique_disjoint_and_in_the_kaggle_range(small):
    train = small["application_train"][schema.CLIENT_ID]
    test = small["application_test"][schema.CLIENT_ID]
    assert train.is_unique and test.is_unique
    assert not set(train) & set(test)
    both = pd.concat([train, test])
    assert both.min() >= 100002 and both.max() <= 456255


def test_side_tables_reference_known_parents(small):
    clients = set(small["application_train"][schema.CLIENT_ID]) | set(
        small["application_test"][schema.CLIENT_ID]
    )
    for table in ("bureau", "previous_application", *LOAN_TABLES):
        assert set(small[table][schema.CLIENT_ID]) <= clients, table
    bureau, previous = small["bureau"], small["previous_application"]
    assert bureau[schema.BUREAU_ID].is_unique
    assert set(small["bureau_balance"][schema.BUREAU_ID]) <= set(bureau[schema.BUREAU_ID])
    assert previous[schema.PREVIOUS_ID].is_unique
    owner = previous.set_index(schema.PREVIOUS_ID)[schema.CLIENT_ID]
    for table in LOAN_TABLES:
        rows = small[table]
        assert rows[schema.PREVIOUS_ID].isin(owner.index).all(), table
        assert (rows[schema.PREVIOUS_ID].map(owner) == rows[schema.CLIENT_ID]).all(), table


def test_target_rate_is_calibrated(small, medium):
    for tables, config in ((small, SMALL), (medium, MEDIUM)):
        target = tables["application_train"][schema.TARGET]
        assert set(target.unique()) == {0, 1}
        assert abs(target.mean() - config.target_rate) <= 0.01


@pytest.mark.parametrize("column", ["EXT_SOURCE_1", "OWN_CAR_AGE", "APARTMENTS_AVG"])
def test_missing_rates_follow_the_profile(medium, column):
    expected = schema.table_profile("application_train")["profile"][column]["missing_rate"]
    observed = medium["application_train"][column].isna().mean()
    assert abs(observed - expected) <= 0.08


def test_housing_block_is_missing_together_and_consistent(medium):
    app = medium["application_train"]
    together = (app["APARTMENTS_AVG"].isna() == app["APARTMENTS_MEDI"].isna()).mean()
    assert together == 1.0
    assert (app["APARTMENTS_AVG"].isna() == app["LIVINGAREA_AVG"].isna()).mean() > 0.8
    gap = (app["APARTMENTS_AVG"] - app["APARTMENTS_MEDI"]).abs().median()
    assert gap < 0.01


def test_days_employed_anomaly_is_the_pensioners(medium):
    app = medium["application_train"]
    anomaly = app["DAYS_EMPLOYED"] == schema.DAYS_EMPLOYED_ANOMALY
    assert 0.1 < anomaly.mean() < 0.28
    assert (anomaly == (app["NAME_INCOME_TYPE"] == "Pensioner")).all()
    assert (app.loc[~anomaly, "DAYS_EMPLOYED"] <= 0).all()


def test_application_values_are_consistent(medium):
    app = medium["application_train"]
    assert (app["CNT_FAM_MEMBERS"] >= app["CNT_CHILDREN"] + 1).all()
    assert app["DAYS_BIRTH"].between(-25229, -7489).all()
    goods = app["AMT_GOODS_PRICE"].dropna()
    assert (goods <= app.loc[goods.index, "AMT_CREDIT"]).all()
    term = app["AMT_CREDIT"] / app["AMT_ANNUITY"]
    assert term.between(5, 70).all()
    assert app[["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]].stack().between(0, 1).all()


def test_history_dates_are_consistent(small):
    bureau = small["bureau"]
    closed = bureau["CREDIT_ACTIVE"] == "Closed"
    assert bureau.loc[~closed, "DAYS_ENDDATE_FACT"].isna().all()
    assert (bureau.loc[closed, "DAYS_ENDDATE_FACT"] >= bureau.loc[closed, "DAYS_CREDIT"]).all()
    assert (small["bureau_balance"]["MONTHS_BALANCE"] <= 0).all()
    assert (small["POS_CASH_balance"]["MONTHS_BALANCE"] <= -1).all()
    assert (small["credit_card_balance"]["MONTHS_BALANCE"] <= -1).all()
    instalments = small["installments_payments"]
    delay = instalments["DAYS_ENTRY_PAYMENT"] - instalments["DAYS_INSTALMENT"]
    assert delay.abs().median() < 30
    assert (instalments["AMT_PAYMENT"] <= instalments["AMT_INSTALMENT"] + 0.01).all()


def test_categories_are_known_to_the_profile(small):
    for table, frame in small.items():
        for column in schema.categorical_columns(table):
            if column in frame:
                seen = set(frame[column].dropna())
                assert seen <= set(schema.known_categories(table, column)), (table, column)


def test_same_seed_gives_identical_csv_files(small, tmp_path):
    first = write_tables(small, tmp_path / "first")
    second = write_tables(generate_tables(SMALL), tmp_path / "second")
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_another_seed_gives_other_data(small):
    other = generate_tables(GenerateConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
    for table in ("application_train", "bureau", "installments_payments"):
        assert not small[table].equals(other[table]), table


def test_written_csv_files_read_back_with_the_same_shape(small, tmp_path):
    paths = write_tables(small, tmp_path / "out")
    assert [p.name for p in paths] == [f"{t}.csv" for t in schema.TABLES]
    for path, table in zip(paths, schema.TABLES, strict=True):
        back = pd.read_csv(path, low_memory=False)
        assert back.shape == small[table].shape, table
        assert list(back.columns) == list(small[table].columns)


def client_features(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A few raw application columns and per-client history aggregates."""
    app = tables["application_train"]
    raw = [
        "EXT_SOURCE_1",
        "EXT_SOURCE_2",
        "EXT_SOURCE_3",
        "DAYS_BIRTH",
        "DAYS_EMPLOYED",
        "AMT_INCOME_TOTAL",
        "AMT_CREDIT",
        "AMT_ANNUITY",
    ]
    features = app.set_index(schema.CLIENT_ID)[raw]
    instalments = tables["installments_payments"]
    late = instalments["DAYS_ENTRY_PAYMENT"] > instalments["DAYS_INSTALMENT"]
    previous = tables["previous_application"]
    refused = previous["NAME_CONTRACT_STATUS"] == "Refused"
    aggregates = {
        "late_instalments": late.groupby(instalments[schema.CLIENT_ID]).sum(),
        "refused": refused.groupby(previous[schema.CLIENT_ID]).sum(),
        "bureau_overdue": tables["bureau"].groupby(schema.CLIENT_ID)["CREDIT_DAY_OVERDUE"].max(),
    }
    for name, values in aggregates.items():
        features[name] = values.reindex(features.index)
    return features


def test_default_signal_is_learnable(medium):
    app = medium["application_train"]
    y = app[schema.TARGET].to_numpy()
    assert roc_auc_score(y, -app["EXT_SOURCE_2"].fillna(app["EXT_SOURCE_2"].median())) > 0.55
    x = client_features(medium)
    x_fit, x_out, y_fit, y_out = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    model = lgb.LGBMClassifier(
        n_estimators=150, learning_rate=0.05, num_leaves=15, min_child_samples=30, verbose=-1
    )
    model.fit(x_fit, y_fit)
    assert roc_auc_score(y_out, model.predict_proba(x_out)[:, 1]) > 0.65


def test_application_test_drifts_mildly(medium):
    train, test = medium["application_train"], medium["application_test"]
    assert test["AMT_CREDIT"].median() > train["AMT_CREDIT"].median()
    revolving = [(f["NAME_CONTRACT_TYPE"] == "Revolving loans").mean() for f in (train, test)]
    assert revolving[1] < revolving[0]


def test_history_scale_scales_the_side_tables(small):
    bigger = generate_tables(GenerateConfig(**{**SMALL.__dict__, "history_scale": 0.6}))
    for table in ("bureau_balance", "POS_CASH_balance", "credit_card_balance"):
        assert len(bigger[table]) > 1.3 * len(small[table]), table


def test_history_scales_scale_one_table_each(small):
    scales = {"bureau": 2.0, "credit_card_balance": 0.5, "installments_payments": 1.5}
    scaled = generate_tables(GenerateConfig(**{**SMALL.__dict__, "history_scales": scales}))
    assert len(scaled["bureau"]) > 1.6 * len(small["bureau"])
    assert len(scaled["credit_card_balance"]) < 0.7 * len(small["credit_card_balance"])
    # The other tables keep their size (up to the other draws of the shared random stream).
    ratio = len(scaled["previous_application"]) / len(small["previous_application"])
    assert 0.85 < ratio < 1.15


def test_instalments_paid_in_parts_sum_to_the_payment(small):
    """Above 1 payment per instalment, the parts of an instalment add up to its one payment."""
    scales = {"installments_payments": 1.8}
    split = generate_tables(GenerateConfig(**{**SMALL.__dict__, "history_scales": scales}))
    whole, parts = small["installments_payments"], split["installments_payments"]
    assert 1.6 < len(parts) / len(whole) < 2.0
    key = [schema.PREVIOUS_ID, "NUM_INSTALMENT_NUMBER"]
    assert parts[key].drop_duplicates().shape[0] < len(parts)
    assert (parts["AMT_PAYMENT"] <= parts["AMT_INSTALMENT"] + 0.01).all()
    assert (parts["DAYS_ENTRY_PAYMENT"] <= -1).all()
    groups = parts.groupby(key)
    paid, due = groups["AMT_PAYMENT"].sum(), groups["AMT_INSTALMENT"].first()
    assert (paid <= due + 0.01 * groups.size()).all()
    assert ((paid - due).abs() <= 0.01 * groups.size()).mean() > 0.8  # most paid in full


@pytest.mark.parametrize(
    "changes",
    [
        {"n_train": 0},
        {"target_rate": 0.0},
        {"target_rate": 1.0},
        {"history_scale": 0},
        {"history_scales": {"bureau": 0}},
        {"history_scales": {"application_train": 2.0}},
    ],
)
def test_impossible_configs_are_rejected(changes):
    with pytest.raises(ValueError):
        generate_tables(GenerateConfig(**{**SMALL.__dict__, **changes}))
