"""Synthetic Home Credit data: the eight Kaggle tables with a learnable default signal.

Every draw comes from one seeded ``numpy`` generator and is vectorised, so a config always gives
the same tables. The recipe:

* Each client gets independent standard-normal latent factors: ``risk`` (drives default), ``size``
  (income, loan amounts), ``region``, ``building``, ``building_info`` (whether the housing block is
  filled), ``social`` and ``enquiry``.
* Application columns follow a Gaussian copula: a normal score ``loadings . latents + noise`` is
  mapped through the profiled quantiles (piecewise-linear inverse CDF); categories are drawn from
  the profiled frequencies, tilted by the latents. Risk loadings and tilts are read from the
  profile's ``by_target`` facts, so each column moves with risk the way it does in the real data.
* Side tables are drawn per client and per loan from the same latents: risky clients have more
  overdue bureau credits, refused applications, late or short instalments, cards near the limit.
* ``TARGET ~ Bernoulli(sigmoid(b0 + b1 * risk + g(observed values)))`` where ``g`` has threshold,
  interaction and non-monotone terms on values a model can see; ``b0`` is found by bisection so
  the realised default rate equals ``config.target_rate``.
* application_test comes from the same process with a mild drift in a few columns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr, ndtri

from credit_scoring import schema
from credit_scoring.config import GenerateConfig

logger = logging.getLogger(__name__)

TRAIN, TEST = schema.APPLICATION_TABLES
ANOMALY = float(schema.DAYS_EMPLOYED_ANOMALY)
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25

CLIENT_ID_FIRST, CLIENT_ID_LAST = 100_002, 456_255
BUREAU_ID_START, PREV_ID_START, ID_SPAN = 5_000_000, 1_000_000, 1_850_000

KEYS = (schema.CLIENT_ID, schema.BUREAU_ID, schema.PREVIOUS_ID, schema.TARGET)
# Generated values stay within the profiled range of their table, widened by this share of it.
RANGE_SLACK = 0.25
LATENTS = ("risk", "size", "region", "building", "building_info", "social", "enquiry")
# Mean latent risk of defaulters minus that of non-defaulters (measured on generated data); turns
# the profiled shift of a column between the two classes into a loading on the risk latent.
RISK_GAP = 0.95
MAX_LOADING = 0.7
# Columns whose risk effect partly reaches TARGET by another path (age through the
# young-and-burdened term, document dates through age): their risk loading is scaled down.
RISK_LOADING_SCALE = {"DAYS_BIRTH": 0.3, "DAYS_ID_PUBLISH": 0.4, "DAYS_REGISTRATION": 0.5}
# Logit of default: weight of the latent risk and of the non-linear terms on observed values.
RISK_COEF = 0.7
TARGET_TERMS = {
    "young_and_burdened": 2.2,  # annuity / income > 0.25 and younger than 32
    "mid_term": 1.4,  # AMT_CREDIT / AMT_ANNUITY between 14 and 22 (non-monotone effect)
    "late_instalments": 1.0,  # three or more late instalments
    "bureau_overdue": 0.5,  # an active bureau credit overdue today
    "card_near_limit": 0.5,  # mean credit card utilisation above 0.85
    "refused_twice": 0.3,  # two or more refused previous applications
    "low_ext_source": 0.5,  # EXT_SOURCE_3 below 0.15
}
# Share of clients with rows in each side table (clients with complete histories in the sample).
COVERAGE = {"bureau": 0.6, "previous_application": 0.78, "bureau_balance": 0.65}
# bureau_balance records whose statuses are all unknown (X), or unknown for the older half.
X_ALL_SHARE, X_HALF_SHARE = 0.25, 0.3
# Drift of application_test: normal-score shifts, contract mix, fewer missing EXT_SOURCE_1.
TEST_CREDIT_SHIFT, TEST_INCOME_SHIFT = 0.1, 0.1
TEST_REVOLVING_FACTOR = 0.4
TEST_EXT_SOURCE_1_MISSING = 0.47
# NAME_CONTRACT_STATUS of previous applications by contract type (Approved, Canceled, Refused,
# Unused offer): shares in the real sample.
PREV_STATUSES = ("Approved", "Canceled", "Refused", "Unused offer")
PREV_STATUS_BY_TYPE = {
    "Cash loans": (0.40, 0.38, 0.22, 0.0),
    "Consumer loans": (0.86, 0.005, 0.10, 0.035),
    "Revolving loans": (0.50, 0.26, 0.24, 0.0),
    "XNA": (0.0, 0.95, 0.05, 0.0),
}
CASH_TERMS = ((6, 12, 18, 24, 30, 36, 48, 60), (0.05, 0.2, 0.12, 0.18, 0.07, 0.15, 0.11, 0.12))
CONSUMER_TERMS = ((4, 6, 8, 10, 12, 18, 24), (0.04, 0.25, 0.05, 0.2, 0.32, 0.05, 0.09))
APPLICATION_TERMS = ((12, 18, 24, 30, 36, 48, 60), (0.2, 0.14, 0.2, 0.1, 0.16, 0.1, 0.1))

Terms = Sequence[tuple[float, np.ndarray]]


@dataclass
class _Population:
    """Clients of both application tables with their latent factors."""

    ids: np.ndarray
    is_test: np.ndarray
    latent: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        """Number of clients."""
        return self.ids.size


# --------------------------------------------------------------------------------------------
# Profile helpers
# --------------------------------------------------------------------------------------------


def _facts(table: str, column: str, target: str | None = None) -> dict[str, Any]:
    """Return the profiled facts of ``table.column`` (of one TARGET class when given)."""
    info = schema.table_profile(table)
    return info["profile"][column] if target is None else info["by_target"][target][column]


def _knots(quantiles: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Return (levels, values) of a quantile dict, sorted by level."""
    levels = np.array([float(level) for level in quantiles])
    values = np.array(list(quantiles.values()), dtype=float)
    order = np.argsort(levels)
    return levels[order], values[order]


def _from_quantiles(quantiles: dict[str, float], u: np.ndarray) -> np.ndarray:
    """Inverse CDF, piecewise linear between the profiled quantiles."""
    levels, values = _knots(quantiles)
    return np.interp(u, levels, values)


def _cdf(quantiles: dict[str, float], x: float) -> float:
    """CDF of the piecewise-linear quantile distribution at ``x`` (mid-point on atoms)."""
    values = _from_quantiles(quantiles, np.linspace(0.0, 1.0, 2001))
    return 0.5 * (np.mean(values < x) + np.mean(values <= x))


def _discrete(frequencies: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Return the (sorted) numeric values of a frequency dict and their probabilities."""
    values = np.array([float(key) for key in frequencies])
    probs = np.array(list(frequencies.values()), dtype=float)
    order = np.argsort(values)
    return values[order], probs[order] / probs.sum()


def _is_discrete(facts: dict[str, Any]) -> bool:
    """Whether a numeric column is drawn from its frequencies rather than its quantiles."""
    return facts["dtype"] != "category" and "frequencies" in facts


def _from_frequencies(frequencies: dict[str, float], u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a discrete numeric distribution (values in ascending order)."""
    values, probs = _discrete(frequencies)
    index = np.searchsorted(np.cumsum(probs), u, side="right")
    return values[np.minimum(index, values.size - 1)]


def _from_score(facts: dict[str, Any], score: np.ndarray) -> np.ndarray:
    """Map a standard-normal score to values with the column's profiled marginal."""
    u = ndtr(score)
    if _is_discrete(facts):
        return _from_frequencies(facts["frequencies"], u)
    return _from_quantiles(facts["quantiles"], u)


# --------------------------------------------------------------------------------------------
# Risk effects read from the profile's by_target facts
# --------------------------------------------------------------------------------------------


def _probit(p: np.ndarray | float) -> np.ndarray:
    """Probit of a probability clipped away from 0 and 1."""
    return ndtri(np.clip(p, 0.005, 0.995))


def _discrete_shift(overall: dict, class0: dict, class1: dict) -> float:
    """Probit shift of defaulters over the cut points of a discrete numeric column."""
    values, probs = _discrete(overall["frequencies"])
    cuts = np.cumsum(probs)[:-1]

    def cumulative(facts: dict) -> np.ndarray:
        freq = {float(k): v for k, v in facts.get("frequencies", {}).items()}
        return np.cumsum([freq.get(v, 0.0) for v in values])[:-1]

    weights = cuts * (1 - cuts) * ((cuts > 0.005) & (cuts < 0.995))
    if weights.sum() == 0:
        return 0.0
    shifts = _probit(cumulative(class0)) - _probit(cumulative(class1))
    return float(np.average(shifts, weights=weights))


def _probit_shift(column: str) -> float:
    """Normal-score shift of defaulters vs. non-defaulters for an application column."""
    overall = _facts(TRAIN, column)
    class0, class1 = _facts(TRAIN, column, "0"), _facts(TRAIN, column, "1")
    if _is_discrete(overall):
        return _discrete_shift(overall, class0, class1)
    quantiles = overall["quantiles"]
    low, high = (_cdf(quantiles, f["quantiles"]["0.5"]) for f in (class0, class1))
    return float(_probit(high) - _probit(low))


def _risk_loading(column: str) -> float:
    """Loading of a numeric application column on the risk latent."""
    loading = _probit_shift(column) / RISK_GAP * RISK_LOADING_SCALE.get(column, 1.0)
    return float(np.clip(loading, -MAX_LOADING, MAX_LOADING))


def _missing_loading(column: str) -> float:
    """Loading of a column's missingness on the risk latent."""
    rates = [_facts(TRAIN, column, c)["missing_rate"] for c in ("0", "1")]
    if min(rates) <= 0 or max(rates) >= 1:
        return 0.0
    shift = _probit(rates[1]) - _probit(rates[0])
    return float(np.clip(shift / RISK_GAP, -0.4, 0.4))


def _category_tilt(column: str, categories: Sequence[str]) -> np.ndarray:
    """Per-category risk coefficients: log ratio of class frequencies over the risk gap."""
    freq0 = _facts(TRAIN, column, "0").get("frequencies", {})
    freq1 = _facts(TRAIN, column, "1").get("frequencies", {})
    tilt = np.zeros(len(categories))
    for i, category in enumerate(categories):
        p0, p1 = freq0.get(category, 0.0), freq1.get(category, 0.0)
        if min(p0, p1) >= 0.003:
            tilt[i] = np.clip(np.log(p1 / p0), -1.0, 1.0) / RISK_GAP
    return tilt


# --------------------------------------------------------------------------------------------
# Random building blocks
# --------------------------------------------------------------------------------------------


def _score(rng: np.random.Generator, n: int, terms: Terms = ()) -> np.ndarray:
    """Standard-normal score ``sum(w * x) + sqrt(1 - sum(w^2)) * noise`` (x standard normal)."""
    total = sum(weight * weight for weight, _ in terms)
    shrink = 1.0 if total <= 0.98 else np.sqrt(0.98 / total)
    score = np.sqrt(max(1.0 - total * shrink**2, 0.0)) * rng.standard_normal(n)
    for weight, driver in terms:
        score = score + weight * shrink * driver
    return score


def _choose(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Index of a categorical draw per row of ``logits`` (Gumbel-max)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def _draw_category(
    rng: np.random.Generator,
    frequencies: dict[str, float],
    n: int,
    tilts: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """Draw categories by frequency, tilted by drivers.

    Args:
        rng: the generator.
        frequencies: ``{category: share}``.
        n: number of rows.
        tilts: ``(beta, x)`` pairs: per-category coefficients and a standard-normal driver per
            row; the logit of category k moves by ``beta_k * x - beta_k^2 / 2`` (shares kept on
            average).
        offset: optional ``(n, K)`` logit offsets.

    Returns:
        An object array of category labels.
    """
    categories = np.array(list(frequencies), dtype=object)
    probs = np.array(list(frequencies.values()), dtype=float)
    logits = np.tile(np.log(np.maximum(probs, 1e-12) / probs.sum()), (n, 1))
    for beta, driver in tilts:
        logits += np.outer(driver, beta) - beta**2 / 2
    if offset is not None:
        logits += offset
    return categories[_choose(rng, logits)]


def _missing(rng: np.random.Generator, n: int, rate: float, terms: Terms = ()) -> np.ndarray:
    """Missing-value mask with the given rate; drivers with positive weight raise missingness."""
    if rate <= 0:
        return np.zeros(n, dtype=bool)
    return _score(rng, n, terms) > ndtri(1.0 - rate)


def _with_missing(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return ``values`` with NaN (numbers) or None (labels) where ``mask``."""
    out = values.astype(object if values.dtype == object else float, copy=True)
    out[mask] = None if out.dtype == object else np.nan
    return out


def _intercept(score: np.ndarray, rate: float, u: np.ndarray | None = None) -> float:
    """Bisection for ``c`` with ``mean(sigmoid(c + score)) = rate`` (realised rate when ``u``)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        prob = expit(mid + score)
        realised = np.mean(u < prob) if u is not None else np.mean(prob)
        low, high = (mid, high) if realised < rate else (low, mid)
    return high


def _bernoulli(rng: np.random.Generator, score: np.ndarray, rate: float) -> np.ndarray:
    """Bernoulli draws with log-odds ``c + score``, ``c`` set for an expected ``rate``."""
    if score.size == 0:
        return np.zeros(0, dtype=bool)
    return rng.random(score.size) < expit(_intercept(score, rate) + score)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (owner, position) of rows when owner i has ``counts[i]`` rows."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - np.repeat(starts, counts)


def _spread_ids(rng: np.random.Generator, n: int, start: int) -> np.ndarray:
    """Unique integer ids spread over ``ID_SPAN`` from ``start``, in random order."""
    gap = max(1, 2 * ID_SPAN // max(n, 1))
    return rng.permutation(start + np.cumsum(rng.integers(1, gap + 1, n)))


def _pick(rng: np.random.Generator, options: tuple[Sequence, Sequence], n: int) -> np.ndarray:
    """Draw ``n`` values from ``(values, probabilities)``."""
    values, probs = options
    return rng.choice(np.asarray(values, dtype=float), size=n, p=np.asarray(probs) / sum(probs))


def _annuity(principal: np.ndarray, months: np.ndarray, yearly_rate: np.ndarray) -> np.ndarray:
    """Monthly annuity of a loan of ``principal`` over ``months`` at ``yearly_rate``."""
    rate = yearly_rate / 12
    return principal * rate / (1 - (1 + rate) ** -np.maximum(months, 1))


def _round_to(values: np.ndarray, step: float, minimum: float = 0.0) -> np.ndarray:
    """Round to a multiple of ``step``, not below ``minimum``."""
    return np.maximum(np.round(values / step) * step, minimum)


# --------------------------------------------------------------------------------------------
# application_train / application_test
# --------------------------------------------------------------------------------------------


def _population(rng: np.random.Generator, n_train: int, n_test: int) -> _Population:
    """Draw client ids (disjoint train/test sets in the Kaggle range) and latent factors."""
    n = n_train + n_test
    span = CLIENT_ID_LAST - CLIENT_ID_FIRST + 1
    if n > span:
        raise ValueError(f"at most {span} clients fit the SK_ID_CURR range, asked for {n}")
    ids = CLIENT_ID_FIRST + np.sort(rng.choice(span, size=n, replace=False))
    is_test = np.zeros(n, dtype=bool)
    is_test[rng.choice(n, size=n_test, replace=False)] = True
    latent = {name: rng.standard_normal(n) for name in LATENTS}
    return _Population(ids=ids, is_test=is_test, latent=latent)


def _generic(rng: np.random.Generator, pop: _Population, column: str, terms: Terms = ()):
    """Draw an application column from its profile with its risk effect (plus extra drivers)."""
    facts, risk, n = _facts(TRAIN, column), pop.latent["risk"], pop.size
    if facts["dtype"] == "category":
        tilt = _category_tilt(column, list(facts["frequencies"]))
        values = _draw_category(rng, facts["frequencies"], n, [(tilt, risk), *terms])
    else:
        values = _from_score(facts, _score(rng, n, [(_risk_loading(column), risk), *terms]))
    mask = _missing(rng, n, facts["missing_rate"], [(_missing_loading(column), risk)])
    return _with_missing(values, mask) if mask.any() else values


def _demographics(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Age, gender, car and realty ownership."""
    risk, size, n = pop.latent["risk"], pop.latent["size"], pop.size
    birth = _score(rng, n, [(_risk_loading("DAYS_BIRTH"), risk)])
    cols["DAYS_BIRTH"] = _from_quantiles(_facts(TRAIN, "DAYS_BIRTH")["quantiles"], ndtr(birth))
    pop.latent["age"] = -birth
    cols["CODE_GENDER"] = _generic(rng, pop, "CODE_GENDER")
    male = (cols["CODE_GENDER"] == "M").astype(float)
    male = (male - male.mean()) / max(male.std(), 1e-9)
    cols["FLAG_OWN_CAR"] = _generic(
        rng, pop, "FLAG_OWN_CAR", [(np.array([-0.5, 0.5]), size), (np.array([-0.3, 0.3]), male)]
    )
    car_age = _from_score(_facts(TRAIN, "OWN_CAR_AGE"), _score(rng, n, [(-0.3, size)]))
    cols["OWN_CAR_AGE"] = np.where(cols["FLAG_OWN_CAR"] == "Y", car_age, np.nan)
    realty = list(_facts(TRAIN, "FLAG_OWN_REALTY")["frequencies"])
    beta = np.where(np.array(realty) == "Y", 0.4, -0.4)
    cols["FLAG_OWN_REALTY"] = _generic(rng, pop, "FLAG_OWN_REALTY", [(beta, pop.latent["age"])])


def _days_employed_quantiles(anomaly_share: float) -> dict[str, float]:
    """Quantiles of DAYS_EMPLOYED among the employed (the 365243 placeholder left out)."""
    levels, values = _knots(_facts(TRAIN, "DAYS_EMPLOYED")["quantiles"])
    keep = values < 0
    scaled = np.minimum(levels[keep] / (1 - anomaly_share), 0.999)
    return {**{str(lv): v for lv, v in zip(scaled, values[keep], strict=True)}, "1": -1.0}


def _employment(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Income type, DAYS_EMPLOYED (365243 for pensioners), organisation, occupation."""
    risk, age, n = pop.latent["risk"], pop.latent["age"], pop.size
    freqs = _facts(TRAIN, "NAME_INCOME_TYPE")["frequencies"]
    pensioner = _score(rng, n, [(0.9, age)]) > ndtri(1 - freqs["Pensioner"])
    # The few-in-100k types (Student, Unemployed...) unseen in application_test are left out.
    in_test = set(schema.known_categories(TEST, "NAME_INCOME_TYPE"))
    others = {k: v for k, v in freqs.items() if k != "Pensioner" and k in in_test}
    tilt = _category_tilt("NAME_INCOME_TYPE", list(others))
    kind = _draw_category(rng, others, n, [(tilt, risk)])
    kind[pensioner] = "Pensioner"
    anomaly = pensioner  # DAYS_EMPLOYED = 365243, no employer, no occupation
    quantiles = _days_employed_quantiles(freqs["Pensioner"])
    days = _from_quantiles(quantiles, ndtr(_score(rng, n, [(0.25, risk), (-0.45, age)])))
    days = np.maximum(np.round(days), cols["DAYS_BIRTH"] + 16 * DAYS_PER_YEAR)
    cols["NAME_INCOME_TYPE"] = kind
    cols["DAYS_EMPLOYED"] = np.where(anomaly, ANOMALY, days)
    cols["FLAG_EMP_PHONE"] = (~anomaly).astype(np.int64)
    cols["ORGANIZATION_TYPE"] = _labelled_unless(rng, risk, "ORGANIZATION_TYPE", anomaly, "XNA")
    cols["OCCUPATION_TYPE"] = _labelled_unless(rng, risk, "OCCUPATION_TYPE", anomaly, None)


def _labelled_unless(rng, risk: np.ndarray, column: str, anomaly: np.ndarray, fill: str | None):
    """Draw a job label for the employed; ``fill`` for pensioners (missing rate kept)."""
    facts = _facts(TRAIN, column)
    freqs = {k: v for k, v in facts["frequencies"].items() if k != fill}
    tilt = _category_tilt(column, list(freqs))
    values = _draw_category(rng, freqs, risk.size, [(tilt, risk)])
    values[anomaly] = fill
    extra = (facts["missing_rate"] - anomaly.mean()) / max(1 - anomaly.mean(), 1e-9)
    values[rng.random(risk.size) < extra] = None
    return values


def _family(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Family status, children, family size (>= children + 1), housing."""
    age = pop.latent["age"]
    status = list(_facts(TRAIN, "NAME_FAMILY_STATUS")["frequencies"])
    age_beta = np.select(
        [np.array(status) == "Widow", np.array(status) == "Single / not married"], [1.2, -0.6], 0.0
    )
    cols["NAME_FAMILY_STATUS"] = _generic(rng, pop, "NAME_FAMILY_STATUS", [(age_beta, age)])
    cols["CNT_CHILDREN"] = _generic(rng, pop, "CNT_CHILDREN", [(-0.35, age)])
    partner = np.isin(cols["NAME_FAMILY_STATUS"], ["Married", "Civil marriage"])
    cols["CNT_FAM_MEMBERS"] = cols["CNT_CHILDREN"] + 1.0 + partner
    housing = np.array(list(_facts(TRAIN, "NAME_HOUSING_TYPE")["frequencies"]))
    age_beta = np.select([housing == "With parents", housing == "Rented apartment"], [-1.0, -0.4])
    cols["NAME_HOUSING_TYPE"] = _generic(rng, pop, "NAME_HOUSING_TYPE", [(age_beta, age)])


def _education(rng: np.random.Generator, pop: _Population) -> np.ndarray:
    """Education level, tilted by risk and by the size (wealth) latent."""
    levels = np.array(list(_facts(TRAIN, "NAME_EDUCATION_TYPE")["frequencies"]))
    wealth = {"Higher education": 0.6, "Academic degree": 0.9, "Lower secondary": -0.6}
    beta = np.array([wealth.get(level, 0.0) for level in levels])
    return _generic(rng, pop, "NAME_EDUCATION_TYPE", [(beta, pop.latent["size"])])


def _contract_type(rng: np.random.Generator, pop: _Population) -> np.ndarray:
    """NAME_CONTRACT_TYPE; application_test has fewer revolving loans (drift)."""
    freqs = _facts(TRAIN, "NAME_CONTRACT_TYPE")["frequencies"]
    offset = np.zeros((pop.size, len(freqs)))
    offset[:, list(freqs).index("Revolving loans")] = np.where(
        pop.is_test, np.log(TEST_REVOLVING_FACTOR), 0.0
    )
    tilt = _category_tilt("NAME_CONTRACT_TYPE", list(freqs))
    return _draw_category(rng, freqs, pop.size, [(tilt, pop.latent["risk"])], offset)


def _money(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Income, credit, goods price and annuity, tied to the size latent and to each other."""
    risk, size, n, drift = pop.latent["risk"], pop.latent["size"], pop.size, pop.is_test
    cols["NAME_EDUCATION_TYPE"] = _education(rng, pop)
    income = _score(rng, n, [(0.8, size), (_risk_loading("AMT_INCOME_TOTAL"), risk)])
    income = _from_score(_facts(TRAIN, "AMT_INCOME_TOTAL"), income + TEST_INCOME_SHIFT * drift)
    cols["AMT_INCOME_TOTAL"] = _round_to(income, 4500.0, 22500.0)
    cols["NAME_CONTRACT_TYPE"] = _contract_type(rng, pop)
    revolving = cols["NAME_CONTRACT_TYPE"] == "Revolving loans"
    credit = _score(rng, n, [(0.5, size), (_risk_loading("AMT_CREDIT"), risk)])
    credit = _from_score(_facts(TRAIN, "AMT_CREDIT"), credit + TEST_CREDIT_SHIFT * drift)
    markup = np.where(rng.random(n) < 0.35, 1.0, rng.uniform(1.02, 1.28, n))
    goods = np.maximum(np.floor(credit / markup / 4500.0) * 4500.0, 22500.0)
    credit = np.where(markup == 1.0, goods, np.round(credit * 2) / 2)
    credit = np.where(revolving, _round_to(credit / 2, 22500.0, 45000.0), credit)
    goods = np.where(revolving, credit, goods)
    goods[revolving & (rng.random(n) < 0.01)] = np.nan
    months = _pick(rng, APPLICATION_TERMS, n)
    annuity = _annuity(credit, months, rng.uniform(0.1, 0.28, n))
    annuity = np.where(revolving, credit / 20, annuity)
    cols.update(AMT_CREDIT=credit, AMT_GOODS_PRICE=goods, AMT_ANNUITY=np.round(annuity * 2) / 2)


def _external_scores(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """EXT_SOURCE_1/2/3: strongly lower for risky clients, 1 and 3 higher for older ones."""
    risk, age, n = pop.latent["risk"], pop.latent["age"], pop.size
    for column, age_weight in (
        ("EXT_SOURCE_1", 0.35),
        ("EXT_SOURCE_2", 0.1),
        ("EXT_SOURCE_3", 0.2),
    ):
        facts = _facts(TRAIN, column)
        score = _score(rng, n, [(_risk_loading(column), risk), (age_weight, age)])
        rate = np.full(n, facts["missing_rate"])
        if column == "EXT_SOURCE_1":
            rate[pop.is_test] = TEST_EXT_SOURCE_1_MISSING
        miss_score = _score(rng, n, [(_missing_loading(column), risk)])
        cols[column] = _with_missing(_from_score(facts, score), miss_score > ndtri(1 - rate))


def _building_bases() -> list[str]:
    """Stems of the numeric *_AVG / *_MODE / *_MEDI housing columns."""
    return [c[: -len("_AVG")] for c in schema.table_columns(TRAIN) if c.endswith("_AVG")]


def _building(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Housing block: missing together (shared latent), AVG/MODE/MEDI at the same quantile."""
    risk, n = pop.latent["risk"], pop.size
    info, build = -pop.latent["building_info"], pop.latent["building"]
    size_like = ("APARTMENTS", "LIVINGAREA", "LIVINGAPARTMENTS", "BASEMENTAREA", "COMMONAREA")
    scores = {}
    for base in _building_bases():
        avg = f"{base}_AVG"
        rate = _facts(TRAIN, avg)["missing_rate"]
        mask = _missing(rng, n, rate, [(_missing_loading(avg), risk), (0.95, info)])
        weight = 0.75 if base in size_like else 0.3
        score = scores[base] = _score(rng, n, [(weight, build), (_risk_loading(avg), risk)])
        for suffix, jitter in (("AVG", 0.0), ("MODE", 0.08), ("MEDI", 0.03)):
            column = f"{base}_{suffix}"
            noisy = score + jitter * rng.standard_normal(n)
            cols[column] = _with_missing(_from_score(_facts(TRAIN, column), noisy), mask)
    total = _facts(TRAIN, "TOTALAREA_MODE")
    mask = _missing(rng, n, total["missing_rate"], [(0.95, info)])
    noisy = scores["APARTMENTS"] + 0.1 * rng.standard_normal(n)
    cols["TOTALAREA_MODE"] = _with_missing(_from_score(total, noisy), mask)
    labels = ("FONDKAPREMONT_MODE", "HOUSETYPE_MODE", "WALLSMATERIAL_MODE", "EMERGENCYSTATE_MODE")
    for column in labels:
        cols[column] = _housing_label(rng, column, n, info)


def _housing_label(rng: np.random.Generator, column: str, n: int, info: np.ndarray):
    """A categorical housing column, missing with the rest of the block."""
    facts = _facts(TRAIN, column)
    values = _draw_category(rng, facts["frequencies"], n)
    return _with_missing(values, _missing(rng, n, facts["missing_rate"], [(0.95, info)]))


def _social_and_enquiries(rng: np.random.Generator, pop: _Population, cols: dict) -> None:
    """Social circle counts (DEF <= OBS, 60 ~ 30 days) and credit bureau enquiries."""
    risk, social, n = pop.latent["risk"], pop.latent["social"], pop.size
    obs = _score(rng, n, [(0.95, social)])
    defaults = _score(rng, n, [(0.45, social), (_risk_loading("DEF_30_CNT_SOCIAL_CIRCLE"), risk)])
    mask = _missing(rng, n, _facts(TRAIN, "OBS_30_CNT_SOCIAL_CIRCLE")["missing_rate"])
    for days in (30, 60):
        noise = 0.0 if days == 30 else 0.15 * rng.standard_normal(n)
        seen = _from_score(_facts(TRAIN, f"OBS_{days}_CNT_SOCIAL_CIRCLE"), obs + noise)
        bad = _from_score(_facts(TRAIN, f"DEF_{days}_CNT_SOCIAL_CIRCLE"), defaults + noise)
        cols[f"OBS_{days}_CNT_SOCIAL_CIRCLE"] = _with_missing(seen, mask)
        cols[f"DEF_{days}_CNT_SOCIAL_CIRCLE"] = _with_missing(np.minimum(bad, seen), mask)
    cols["DEF_60_CNT_SOCIAL_CIRCLE"] = np.fmin(
        cols["DEF_60_CNT_SOCIAL_CIRCLE"], cols["DEF_30_CNT_SOCIAL_CIRCLE"]
    )
    enquiry = [c for c in schema.table_columns(TRAIN) if c.startswith("AMT_REQ_CREDIT_BUREAU")]
    rate, loading = _facts(TRAIN, enquiry[0])["missing_rate"], _missing_loading(enquiry[0])
    mask = _missing(rng, n, rate, [(loading, risk)])
    for column in enquiry:
        terms = [(0.5, pop.latent["enquiry"]), (_risk_loading(column), risk)]
        values = _from_score(_facts(TRAIN, column), _score(rng, n, terms))
        if column.endswith("_QRT"):  # drift: more recent enquiries in application_test
            test_values = _from_score(_facts(TEST, column), _score(rng, n, terms))
            values = np.where(pop.is_test, test_values, values)
        cols[column] = _with_missing(values, mask)


# Extra drivers of columns otherwise drawn generically: {column: [(latent, weight)]}.
EXTRA_DRIVERS = {
    "REGION_POPULATION_RELATIVE": [("region", 0.8)],
    "REGION_RATING_CLIENT": [("region", -0.9)],
    "REGION_RATING_CLIENT_W_CITY": [("region", -0.9)],
    "DAYS_REGISTRATION": [("age", -0.4)],
    "DAYS_ID_PUBLISH": [("age", -0.35)],
    "DAYS_LAST_PHONE_CHANGE": [("age", -0.1)],
}


def _application(rng: np.random.Generator, pop: _Population) -> dict[str, np.ndarray]:
    """Every application column (TARGET excepted) for all clients."""
    cols: dict[str, np.ndarray] = {schema.CLIENT_ID: pop.ids}
    _demographics(rng, pop, cols)
    _employment(rng, pop, cols)
    _family(rng, pop, cols)
    _money(rng, pop, cols)
    _external_scores(rng, pop, cols)
    _building(rng, pop, cols)
    _social_and_enquiries(rng, pop, cols)
    for column in schema.table_columns(TRAIN):
        if column not in cols and column != schema.TARGET:
            extra = [(w, pop.latent[name]) for name, w in EXTRA_DRIVERS.get(column, [])]
            cols[column] = _generic(rng, pop, column, extra)
    floor = cols["DAYS_BIRTH"]
    cols["DAYS_REGISTRATION"] = np.maximum(cols["DAYS_REGISTRATION"], floor)
    cols["DAYS_ID_PUBLISH"] = np.maximum(cols["DAYS_ID_PUBLISH"], floor + 14 * DAYS_PER_YEAR)
    return cols


# --------------------------------------------------------------------------------------------
# Side tables
# --------------------------------------------------------------------------------------------


def _client_counts(
    rng: np.random.Generator, table: str, has: np.ndarray, terms: Terms, scale: float
) -> np.ndarray:
    """Rows per client (0 without history) from the profiled rows-per-client quantiles."""
    quantiles = schema.table_profile(table)["rows_per_SK_ID_CURR"]
    counts = _from_quantiles(quantiles, ndtr(_score(rng, has.size, terms)))
    return np.where(has, np.maximum(np.rint(counts * scale), 1), 0).astype(np.int64)


def _side_category(rng: np.random.Generator, table: str, column: str, n: int, keep=None):
    """Draw a side-table category by its profiled frequencies (optionally a subset)."""
    freqs = _facts(table, column)["frequencies"]
    if keep is not None:
        freqs = {k: v for k, v in freqs.items() if keep(k)}
    return _draw_category(rng, freqs, n)


def _side_numeric(rng: np.random.Generator, table: str, column: str, terms: Terms) -> np.ndarray:
    """Draw a side-table numeric column from its profiled marginal (sized by the drivers)."""
    return _from_score(_facts(table, column), _score(rng, terms[0][1].size, terms))


def _side_generic(rng: np.random.Generator, table: str, column: str, n: int) -> np.ndarray:
    """Draw a side-table column from its profile alone (random missing values)."""
    facts = _facts(table, column)
    if facts["dtype"] == "category":
        values = _draw_category(rng, facts["frequencies"], n)
    else:
        values = _from_score(facts, rng.standard_normal(n))
    return _masked(rng, table, column, values)


def _bureau(rng: np.random.Generator, pop: _Population, cols: dict, scale: float) -> dict:
    """Bureau credits: state, dates, amounts; overdue and debt grow with risk."""
    n, lat = pop.size, pop.latent
    has = rng.random(n) < COVERAGE["bureau"]
    terms = [(0.25, lat["size"]), (0.2, lat["risk"]), (0.3, lat["age"])]
    owner, _ = _expand(_client_counts(rng, "bureau", has, terms, scale))
    m, risk = owner.size, lat["risk"][owner]
    ctype = _side_category(rng, "bureau", "CREDIT_TYPE", m)
    card = ctype == "Credit card"
    opened = _from_quantiles(_facts("bureau", "DAYS_CREDIT")["quantiles"], rng.random(m))
    opened = np.minimum(np.maximum(np.round(opened), cols["DAYS_BIRTH"][owner] + 6575), -1)
    state = _credit_state(rng, risk, 1 + opened / 2922, card)
    out = {"owner": owner, "SK_ID_BUREAU": _spread_ids(rng, m, BUREAU_ID_START)}
    out |= {"CREDIT_TYPE": ctype, "CREDIT_ACTIVE": state, "DAYS_CREDIT": opened}
    out["CREDIT_CURRENCY"] = _side_category(rng, "bureau", "CREDIT_CURRENCY", m)
    out["CNT_CREDIT_PROLONG"] = _from_frequencies(
        _facts("bureau", "CNT_CREDIT_PROLONG")["frequencies"], rng.random(m)
    )
    _bureau_dates(rng, out, card)
    _bureau_amounts(rng, out, risk, lat["size"][owner], card)
    return out


def _credit_state(rng, risk: np.ndarray, recency: np.ndarray, card: np.ndarray) -> np.ndarray:
    """CREDIT_ACTIVE: recent credits, cards and risky clients are more often Active."""
    freqs = _facts("bureau", "CREDIT_ACTIVE")["frequencies"]
    active = _bernoulli(rng, 3.0 * recency + 0.8 * card + 0.5 * risk, freqs["Active"])
    sold = ~active & (rng.random(risk.size) < freqs.get("Sold", 0.0))
    return np.select([active, sold], ["Active", "Sold"], "Closed").astype(object)


def _bureau_dates(rng: np.random.Generator, out: dict, card: np.ndarray) -> None:
    """End dates (planned, actual only for Closed), last update; all after DAYS_CREDIT."""
    opened, state = out["DAYS_CREDIT"], out["CREDIT_ACTIVE"]
    m, active, closed = opened.size, state == "Active", state == "Closed"
    lived = np.exp(rng.normal(np.log(300), 0.9, m))
    fact = np.clip(np.round(opened + lived), opened, -1.0)
    planned = np.round(opened + np.exp(rng.normal(np.log(720), 0.7, m)))
    end = np.where(active, planned, np.round(fact + rng.normal(0, 90, m)))
    end[card & (rng.random(m) < 0.27)] = np.nan
    update = np.where(active, -rng.integers(0, 40, m), fact + rng.integers(0, 60, m))
    out["DAYS_CREDIT_ENDDATE"] = end
    out["DAYS_ENDDATE_FACT"] = np.where(closed, fact, np.nan)
    out["DAYS_CREDIT_UPDATE"] = np.clip(update, opened, 0)


def _bureau_amounts(rng, out: dict, risk: np.ndarray, size: np.ndarray, card: np.ndarray):
    """Credit sum, debt, limit, overdue amounts and annuity of bureau credits."""
    m, active = risk.size, out["CREDIT_ACTIVE"] == "Active"
    opened, end = out["DAYS_CREDIT"], out["DAYS_CREDIT_ENDDATE"]
    late = active & _bernoulli(rng, 1.6 * risk, 0.025)
    out["CREDIT_DAY_OVERDUE"] = np.where(late, np.minimum(1 + rng.exponential(35, m), -opened), 0)
    amount = _side_numeric(rng, "bureau", "AMT_CREDIT_SUM", [(0.45, size)])
    left = np.where(np.isnan(end), rng.uniform(0.2, 0.9, m), end / np.maximum(end - opened, 1))
    debt = np.where(
        active, amount * np.clip(left, 0.05, 1) * np.exp(0.25 * np.minimum(risk, 2)), 0
    )
    debt = np.minimum(debt, amount)
    limit = np.where(card & active, np.maximum(amount - debt, 0), 0.0)
    overdue = np.where(late, np.minimum(debt * rng.uniform(0.02, 0.3, m), 1e5), 0.0)
    ever_late = late | _bernoulli(rng, 1.3 * risk, 0.08)
    worst = np.maximum(overdue, np.minimum(np.exp(rng.normal(8.5, 1.2, m)), 1e6))
    worst = np.where(ever_late, worst, 0.0)
    duration = np.maximum((np.nan_to_num(end, nan=0.0) - opened) / DAYS_PER_MONTH, 3)
    annuity = np.where(active & ~card, amount / duration, 0.0)
    out["AMT_CREDIT_SUM"] = amount
    out["AMT_CREDIT_SUM_DEBT"] = _masked(rng, "bureau", "AMT_CREDIT_SUM_DEBT", debt)
    out["AMT_CREDIT_SUM_LIMIT"] = _masked(rng, "bureau", "AMT_CREDIT_SUM_LIMIT", limit)
    out["AMT_CREDIT_SUM_OVERDUE"] = overdue
    out["AMT_CREDIT_MAX_OVERDUE"] = _masked(
        rng, "bureau", "AMT_CREDIT_MAX_OVERDUE", worst, keep=ever_late
    )
    out["AMT_ANNUITY"] = _masked(rng, "bureau", "AMT_ANNUITY", annuity)


def _masked(rng, table: str, column: str, values: np.ndarray, keep=None) -> np.ndarray:
    """Blank a random share of ``values`` (the profiled missing rate), never where ``keep``."""
    rate = _facts(table, column)["missing_rate"]
    if keep is not None and keep.size:
        rate = rate / max(1.0 - keep.mean(), 1e-9)
    mask = rng.random(values.size) < rate
    if keep is not None:
        mask &= ~keep
    return _with_missing(values, mask)


def _bureau_balance(rng: np.random.Generator, bureau: dict, risk: np.ndarray, scale: float):
    """Monthly statuses of bureau credits: C after closing, X unknown, 1-5 late (risky)."""
    m = bureau["DAYS_CREDIT"].size
    months = np.minimum(np.floor(-bureau["DAYS_CREDIT"] / DAYS_PER_MONTH) + 1, 97)
    has = rng.random(m) < COVERAGE["bureau_balance"]
    record, position = _expand(np.where(has, np.maximum(np.ceil(months * scale), 1), 0))
    month = -position
    closing = np.floor(np.nan_to_num(bureau["DAYS_ENDDATE_FACT"], nan=1e9) / DAYS_PER_MONTH)
    half = np.floor(bureau["DAYS_CREDIT"] / 2 / DAYS_PER_MONTH)
    draw = rng.random(m)
    unknown_from = np.select(
        [draw < X_ALL_SHARE, draw < X_ALL_SHARE + X_HALF_SHARE], [1, half], -200
    )
    late_odds = 1.5 * risk[bureau["owner"]] + 0.8 * rng.standard_normal(m)
    late = _bernoulli(rng, late_odds[record], 0.03)
    level = np.minimum(rng.geometric(0.7, month.size), 5)
    status = np.where(late, level.astype(str), "0").astype(object)
    status[month < unknown_from[record]] = "X"
    status[month > closing[record]] = "C"
    overdue = bureau["CREDIT_DAY_OVERDUE"][record]
    now_late = (month == 0) & (overdue > 0)
    status[now_late] = np.minimum(1 + overdue[now_late] // 30, 5).astype(int).astype(str)
    ids = bureau["SK_ID_BUREAU"][record]
    return {"SK_ID_BUREAU": ids, "MONTHS_BALANCE": month, "STATUS": status, "record": record}


PREV = "previous_application"


def _previous(rng: np.random.Generator, pop: _Population, cols: dict, scale: float) -> dict:
    """Previous applications: type, status (Refused grows with risk), amounts, labels, dates."""
    n, lat = pop.size, pop.latent
    has = rng.random(n) < COVERAGE[PREV]
    terms = [(0.3, lat["risk"]), (0.2, lat["age"])]
    owner, _ = _expand(_client_counts(rng, PREV, has, terms, scale))
    m, risk = owner.size, lat["risk"][owner]
    ctype = _side_category(rng, PREV, "NAME_CONTRACT_TYPE", m)
    decision = np.round(_from_quantiles(_facts(PREV, "DAYS_DECISION")["quantiles"], rng.random(m)))
    adult = np.round(cols["DAYS_BIRTH"][owner] + 18 * DAYS_PER_YEAR)
    out = {"owner": owner, "SK_ID_PREV": _spread_ids(rng, m, PREV_ID_START)}
    out |= {"NAME_CONTRACT_TYPE": ctype, "NAME_CONTRACT_STATUS": _prev_status(rng, ctype, risk)}
    out["DAYS_DECISION"] = np.clip(decision, adult, -1)
    _prev_amounts(rng, out, lat["size"][owner])
    _prev_labels(rng, out)
    _prev_dates(rng, out)
    for column in schema.table_columns(PREV):
        if column not in out:
            out[column] = _side_generic(rng, PREV, column, m)
    return out


def _prev_status(rng: np.random.Generator, ctype: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """NAME_CONTRACT_STATUS by contract type; risky clients are refused more often."""
    types = list(PREV_STATUS_BY_TYPE)
    code = pd.Series(ctype).map({t: i for i, t in enumerate(types)}).fillna(types.index("XNA"))
    probs = np.array(list(PREV_STATUS_BY_TYPE.values()))[code.to_numpy(dtype=int)]
    logits = np.log(probs + 1e-12)
    logits[:, PREV_STATUSES.index("Refused")] += 0.7 * risk - 0.245
    return np.array(PREV_STATUSES, dtype=object)[_choose(rng, logits)]


def _prev_amounts(rng: np.random.Generator, out: dict, size: np.ndarray) -> None:
    """Asked amount, credit, down payment, goods price, term and annuity of each application."""
    ctype, status, m = out["NAME_CONTRACT_TYPE"], out["NAME_CONTRACT_STATUS"], size.size
    cash, consumer = ctype == "Cash loans", ctype == "Consumer loans"
    revolving = ctype == "Revolving loans"
    u = ndtr(_score(rng, m, [(0.45, size)]) + np.select([cash, consumer], [0.5, -0.6], -0.1))
    asked = _from_quantiles(_facts(PREV, "AMT_APPLICATION")["quantiles"], 0.3 + 0.7 * u)
    asked = np.select(
        [cash, revolving],
        [_round_to(asked, 4500.0, 4500.0), _round_to(asked, 22500.0, 22500.0)],
        np.round(asked, 2),
    )
    months = np.select(
        [cash, consumer], [_pick(rng, CASH_TERMS, m), _pick(rng, CONSUMER_TERMS, m)]
    )
    down = np.where(consumer & (rng.random(m) < 0.5), asked * rng.uniform(0.05, 0.3, m), 0.0)
    insured = rng.random(m) < np.where(cash, 0.6, 0.2)
    credit = np.where(cash & insured, asked * rng.uniform(1.03, 1.15, m), asked - down)
    annuity = _annuity(credit, months, rng.uniform(0.1, 0.35, m))
    annuity = np.where(revolving, credit * 0.05, annuity)
    zero = ((status == "Canceled") & (rng.random(m) < 0.9)) | (ctype == "XNA")
    no_terms = np.isin(status, ["Canceled", "Unused offer"]) | (ctype == "XNA")
    asked, credit = np.where(zero, 0.0, asked), np.where(zero, 0.0, credit)
    with_down = consumer & ~zero
    out["AMT_APPLICATION"], out["AMT_CREDIT"] = asked, credit
    out["AMT_ANNUITY"] = np.where(no_terms, np.nan, annuity)
    out["CNT_PAYMENT"] = np.where(no_terms, np.nan, months)
    out["AMT_GOODS_PRICE"] = np.where(zero | (revolving & (rng.random(m) < 0.5)), np.nan, asked)
    out["AMT_DOWN_PAYMENT"] = np.where(with_down, down, np.nan)
    out["RATE_DOWN_PAYMENT"] = np.where(with_down, down / np.maximum(asked, 1.0), np.nan)
    out["insured"] = insured


def _prev_labels(rng: np.random.Generator, out: dict) -> None:
    """Labels that follow from the contract type and status (portfolio, product, reasons...)."""
    ctype, status, m = out["NAME_CONTRACT_TYPE"], out["NAME_CONTRACT_STATUS"], out["owner"].size
    cash, consumer = ctype == "Cash loans", ctype == "Consumer loans"
    revolving, refused = ctype == "Revolving loans", status == "Refused"
    dead = (out["AMT_CREDIT"] == 0) | (status == "Canceled")

    def draw(column: str, keep) -> np.ndarray:
        return _side_category(rng, PREV, column, m, keep)

    purpose = np.where(rng.random(m) < 0.88, "XNA", draw("NAME_CASH_LOAN_PURPOSE", _not_xa))
    out["NAME_CASH_LOAN_PURPOSE"] = np.where(cash, purpose, "XAP")
    paid = draw("NAME_PAYMENT_TYPE", lambda k: k != "XNA")
    out["NAME_PAYMENT_TYPE"] = np.where(dead | refused, "XNA", paid)
    reason = draw("CODE_REJECT_REASON", lambda k: k not in ("XAP", "CLIENT"))
    unused = status == "Unused offer"
    out["CODE_REJECT_REASON"] = np.select([refused, unused], [reason, "CLIENT"], "XAP")
    out["NAME_CLIENT_TYPE"] = _client_type(rng, out["owner"], out["DAYS_DECISION"])
    out["NAME_GOODS_CATEGORY"] = np.where(consumer, draw("NAME_GOODS_CATEGORY", _not_xna), "XNA")
    out["NAME_PORTFOLIO"] = np.select(
        [dead, cash, consumer, revolving], ["XNA", "Cash", "POS", "Cards"], "XNA"
    )
    product = np.where(rng.random(m) < 0.75, "x-sell", "walk-in")
    out["NAME_PRODUCT_TYPE"] = np.where(cash & ~dead, product, "XNA")
    industry = draw("NAME_SELLER_INDUSTRY", _not_xna)
    out["NAME_SELLER_INDUSTRY"] = np.where(consumer, industry, "XNA")
    yield_group = draw("NAME_YIELD_GROUP", _not_xna)
    out["NAME_YIELD_GROUP"] = np.where((cash | consumer) & ~dead, yield_group, "XNA")
    out["PRODUCT_COMBINATION"] = _product_combination(rng, ctype, dead)
    area = _from_quantiles(_facts(PREV, "SELLERPLACE_AREA")["quantiles"], rng.uniform(0.5, 1, m))
    out["SELLERPLACE_AREA"] = np.where(consumer, np.maximum(np.round(area), 0), -1)
    for column in ("NAME_CASH_LOAN_PURPOSE", "NAME_PAYMENT_TYPE", "CODE_REJECT_REASON"):
        out[column] = out[column].astype(object)


def _not_xa(category: str) -> bool:
    """Keep real labels (not the XAP / XNA placeholders)."""
    return category not in ("XAP", "XNA")


def _not_xna(category: str) -> bool:
    """Keep labels other than the XNA placeholder."""
    return category != "XNA"


def _client_type(rng: np.random.Generator, owner: np.ndarray, decision: np.ndarray):
    """NAME_CLIENT_TYPE: New for a client's first application, else Repeater / Refreshed."""
    order = np.lexsort((decision, owner))
    opens_group = np.ones(owner.size, dtype=bool)
    opens_group[1:] = owner[order][1:] != owner[order][:-1]
    first = np.zeros(owner.size, dtype=bool)
    first[order[opens_group]] = True
    again = np.where(rng.random(owner.size) < 0.9, "Repeater", "Refreshed")
    return np.where(first, "New", again).astype(object)


def _product_combination(rng: np.random.Generator, ctype: np.ndarray, dead: np.ndarray):
    """PRODUCT_COMBINATION consistent with the contract type (Cash*, POS*, Card*)."""
    m = ctype.size

    def draw(prefix: str) -> np.ndarray:
        keep = lambda k: k.startswith(prefix) and k != "Cash"  # noqa: E731
        return _side_category(rng, PREV, "PRODUCT_COMBINATION", m, keep)

    return np.select(
        [dead | (ctype == "XNA"), ctype == "Cash loans", ctype == "Consumer loans"],
        [np.full(m, "Cash", dtype=object), draw("Cash "), draw("POS ")],
        draw("Card "),
    ).astype(object)


def _prev_dates(rng: np.random.Generator, out: dict) -> None:
    """Due and termination dates of approved applications (365243 = not yet / open ended)."""
    decision, months = out["DAYS_DECISION"], out["CNT_PAYMENT"]
    m, approved = decision.size, out["NAME_CONTRACT_STATUS"] == "Approved"
    revolving = out["NAME_CONTRACT_TYPE"] == "Revolving loans"
    first_due = decision + rng.integers(10, 45, m)
    last_planned = np.where(revolving, ANOMALY, first_due + 30 * (np.nan_to_num(months) - 1))
    finished = (last_planned <= -1) & (first_due <= -1)
    early = finished & (rng.random(m) < 0.3)
    last = np.where(
        early, first_due + (last_planned - first_due) * rng.uniform(0.3, 1, m), last_planned
    )
    last = np.where(finished, np.round(last), ANOMALY)
    ended = np.where(finished, last + rng.integers(0, 10, m), ANOMALY)
    drawing = np.where(rng.random(m) < 0.9, ANOMALY, decision + rng.integers(0, 5, m))
    dates = {
        "DAYS_FIRST_DRAWING": drawing,
        "DAYS_FIRST_DUE": np.where(first_due <= -1, first_due, ANOMALY),
        "DAYS_LAST_DUE_1ST_VERSION": last_planned,
        "DAYS_LAST_DUE": last,
        "DAYS_TERMINATION": np.minimum(ended, np.where(finished, -1, ANOMALY)),
        "NFLAG_INSURED_ON_APPROVAL": out["insured"].astype(float),
    }
    for column, values in dates.items():
        out[column] = np.where(approved, values, np.nan)
    out["first_due"] = np.where(approved, first_due, np.nan)


def _pos_cash(rng: np.random.Generator, prev: dict, risk: np.ndarray, scale: float) -> dict:
    """Monthly rows of approved cash / consumer loans; risky clients pay late (SK_DPD > 0)."""
    months = prev["CNT_PAYMENT"]
    kind = np.isin(prev["NAME_CONTRACT_TYPE"], ["Cash loans", "Consumer loans"])
    loans = np.flatnonzero(kind & (np.nan_to_num(months) > 0) & (prev["first_due"] <= -1))
    first_due, months = prev["first_due"][loans], months[loans].astype(np.int64)
    first_month = np.floor(first_due / DAYS_PER_MONTH)
    total = (np.minimum(-1, first_month + months) - first_month + 1).astype(np.int64)
    keep = np.minimum(total, np.maximum(np.ceil(total * scale), 1)).astype(np.int64)
    loan, position = _expand(keep)
    step = position + (total - keep)[loan]
    future = (months[loan] - step).astype(float)
    odds = 1.6 * risk[prev["owner"][loans]] + 0.8 * rng.standard_normal(loans.size)
    late = _bernoulli(rng, odds[loan], 0.04) & (future > 0)
    dpd = np.where(late, rng.integers(1, 31, loan.size), 0)
    dpd = dpd + np.where(late & (rng.random(loan.size) < 0.1), rng.integers(30, 300, loan.size), 0)
    blank = rng.random(loan.size) < _facts("POS_CASH_balance", "CNT_INSTALMENT")["missing_rate"]
    return {
        "prev_row": loans[loan],
        "MONTHS_BALANCE": first_month[loan] + step,
        "CNT_INSTALMENT": np.where(blank, np.nan, months[loan].astype(float)),
        "CNT_INSTALMENT_FUTURE": np.where(blank, np.nan, future),
        "NAME_CONTRACT_STATUS": np.where(future == 0, "Completed", "Active").astype(object),
        "SK_DPD": dpd,
        "SK_DPD_DEF": np.where(rng.random(loan.size) < 0.25, dpd, 0),
        "step": step,
        "due": first_due[loan] + np.round(step * DAYS_PER_MONTH),
        "live": future > 0,
    }


def _installments(rng: np.random.Generator, prev: dict, pos: dict) -> dict:
    """One instalment per due POS month: paid late on late months, sometimes short."""
    rows = np.flatnonzero(pos["live"] & (pos["due"] <= -1))
    due, dpd, n = pos["due"][rows], pos["SK_DPD"][rows], rows.size
    prev_row = pos["prev_row"][rows]
    late = dpd > 0
    entry = np.minimum(due + np.where(late, dpd, -rng.integers(0, 15, n)), -1)
    amount = np.round(prev["AMT_ANNUITY"][prev_row], 2)
    short = (late & (rng.random(n) < 0.4)) | (rng.random(n) < 0.01)
    versions = _facts("installments_payments", "NUM_INSTALMENT_VERSION")["frequencies"]
    versions = {k: v for k, v in versions.items() if float(k) > 0}
    return {
        "prev_row": prev_row,
        "NUM_INSTALMENT_VERSION": _from_frequencies(versions, rng.random(n)),
        "NUM_INSTALMENT_NUMBER": pos["step"][rows] + 1,
        "DAYS_INSTALMENT": due,
        "DAYS_ENTRY_PAYMENT": entry,
        "AMT_INSTALMENT": amount,
        "AMT_PAYMENT": np.where(short, amount * rng.uniform(0.1, 0.95, n), amount),
    }


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each group of ``counts`` contiguous rows."""
    total = np.cumsum(values)
    before = np.concatenate([[0.0], total])[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)


def _credit_cards(rng: np.random.Generator, prev: dict, risk: np.ndarray, scale: float) -> dict:
    """Monthly rows of approved revolving loans; risky clients sit near their limit."""
    approved = prev["NAME_CONTRACT_STATUS"] == "Approved"
    cards = np.flatnonzero(
        approved
        & (prev["NAME_CONTRACT_TYPE"] == "Revolving loans")
        & (prev["DAYS_DECISION"] <= -31)
    )
    total = np.minimum(-(np.floor(prev["DAYS_DECISION"][cards] / DAYS_PER_MONTH) + 1), 96)
    keep = np.maximum(np.ceil(total * scale), 1).astype(np.int64)
    card, position = _expand(keep)
    n, card_risk = card.size, risk[prev["owner"][cards]]
    idle = _bernoulli(rng, -0.9 * card_risk, 0.4)
    level = ndtr(0.9 * card_risk + 0.5 * rng.standard_normal(cards.size) - 0.3)
    util = np.clip(level[card] + 0.08 * rng.standard_normal(n), 0, 1.05) * ~idle[card]
    top = _facts("credit_card_balance", "AMT_CREDIT_LIMIT_ACTUAL")["quantiles"]["1"]
    limit = np.minimum(_round_to(prev["AMT_CREDIT"][cards], 22500.0), top)[card]
    out = {"prev_row": cards[card], "MONTHS_BALANCE": position - keep[card]}
    out["AMT_CREDIT_LIMIT_ACTUAL"], out["util"] = limit, util
    _card_amounts(rng, out, limit * util, keep)
    late = _bernoulli(rng, 1.5 * card_risk[card] + 2.0 * (util > 0.9), 0.03) & (util > 0)
    dpd = np.where(late, rng.integers(1, 60, n), 0)
    out["SK_DPD"] = dpd
    out["SK_DPD_DEF"] = np.where(rng.random(n) < 0.5, np.minimum(dpd, rng.integers(1, 3, n)), 0)
    closed = (rng.random(cards.size) < 0.08)[card] & (position == keep[card] - 1)
    out["NAME_CONTRACT_STATUS"] = np.where(closed, "Completed", "Active").astype(object)
    return out


def _card_amounts(rng: np.random.Generator, out: dict, balance: np.ndarray, counts) -> None:
    """Balance, drawings (ATM / POS), minimum instalment and payments of card months."""
    n, table = balance.size, "credit_card_balance"
    balance = np.round(balance, 2)
    drawn = (balance > 0) & (rng.random(n) < 0.35)
    drawn = np.where(drawn, balance * rng.uniform(0.05, 0.4, n), 0.0)
    atm = np.round(drawn * (rng.random(n) < 0.4) * rng.uniform(0.3, 1, n), 2)
    shop = np.round(drawn - atm, 2)
    n_atm = np.where(atm > 0, 1 + rng.poisson(0.8, n), 0)
    n_shop = np.where(shop > 0, 1 + rng.poisson(3, n), 0)
    blank = rng.random(n) < _facts(table, "AMT_DRAWINGS_ATM_CURRENT")["missing_rate"]
    minimum = np.round(0.05 * balance, 2)
    paid = np.minimum(minimum * rng.uniform(0.5, 3, n), balance)
    unpaid = rng.random(n) < _facts(table, "AMT_INST_MIN_REGULARITY")["missing_rate"]
    drawings = {"ATM": (atm, n_atm), "POS": (shop, n_shop), "OTHER": (0 * atm, 0 * n_atm)}
    for name, (amount, count) in drawings.items():
        out[f"AMT_DRAWINGS_{name}_CURRENT"] = np.where(blank, np.nan, amount)
        out[f"CNT_DRAWINGS_{name}_CURRENT"] = np.where(blank, np.nan, count)
    out["AMT_DRAWINGS_CURRENT"], out["CNT_DRAWINGS_CURRENT"] = atm + shop, n_atm + n_shop
    out["AMT_BALANCE"] = balance
    out["AMT_INST_MIN_REGULARITY"] = np.where(unpaid, np.nan, minimum)
    mature = _group_cumsum((balance > 0).astype(float), counts)
    out["CNT_INSTALMENT_MATURE_CUM"] = np.where(unpaid, np.nan, mature)
    out["AMT_PAYMENT_CURRENT"] = _masked(rng, table, "AMT_PAYMENT_CURRENT", paid)
    out["AMT_PAYMENT_TOTAL_CURRENT"] = paid
    out["AMT_RECEIVABLE_PRINCIPAL"] = np.round(balance * 0.96, 2)
    out["AMT_RECIVABLE"] = out["AMT_TOTAL_RECEIVABLE"] = balance


# --------------------------------------------------------------------------------------------
# TARGET
# --------------------------------------------------------------------------------------------


def _per_client(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per client index."""
    return np.bincount(owner, weights=values.astype(float), minlength=n)


def _target_terms(cols: dict, side: dict, n: int) -> dict[str, np.ndarray]:
    """0/1 indicators of the non-linear default drivers, on values a model can observe."""
    prev, inst, bureau, card = side[PREV], side["installments"], side["bureau"], side["cards"]
    inst_owner = prev["owner"][inst["prev_row"]]
    late = _per_client(inst_owner, inst["DAYS_ENTRY_PAYMENT"] > inst["DAYS_INSTALMENT"], n)
    card_owner = prev["owner"][card["prev_row"]]
    card_rows = np.bincount(card_owner, minlength=n)
    util = _per_client(card_owner, card["util"], n) / np.maximum(card_rows, 1)
    burden = cols["AMT_ANNUITY"] / cols["AMT_INCOME_TOTAL"]
    term = cols["AMT_CREDIT"] / cols["AMT_ANNUITY"]
    young = cols["DAYS_BIRTH"] > -32 * DAYS_PER_YEAR
    refused = _per_client(prev["owner"], prev["NAME_CONTRACT_STATUS"] == "Refused", n)
    overdue = _per_client(bureau["owner"], bureau["CREDIT_DAY_OVERDUE"] > 0, n)
    return {
        "young_and_burdened": (burden > 0.25) & young,
        "late_instalments": late >= 3,
        "bureau_overdue": overdue > 0,
        "card_near_limit": util > 0.85,
        "refused_twice": refused >= 2,
        "low_ext_source": np.nan_to_num(cols["EXT_SOURCE_3"], nan=1.0) < 0.15,
        "mid_term": (term >= 14) & (term <= 22),
    }


def _target(rng: np.random.Generator, pop: _Population, cols: dict, side: dict, rate: float):
    """TARGET of every client: realised rate on application_train calibrated to ``rate``."""
    terms = _target_terms(cols, side, pop.size)
    logit = RISK_COEF * pop.latent["risk"]
    for name, weight in TARGET_TERMS.items():
        logit = logit + weight * terms[name]
    u = rng.random(pop.size)
    train = ~pop.is_test
    intercept = _intercept(logit[train], rate, u[train])
    return (u < expit(intercept + logit)).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


def _decimals(table: str, column: str) -> int:
    """Decimals kept in the CSV: money 2, scores and rates 6, housing 4, counts and days 0."""
    if column.startswith("AMT_"):
        return 2
    if column.startswith(("EXT_SOURCE", "RATE_", "REGION_POPULATION")):
        return 6
    if column.endswith(("_AVG", "_MODE", "_MEDI")):
        return 4
    quantiles = _facts(table, column).get("quantiles", {})
    return 0 if all(float(v).is_integer() for v in quantiles.values()) else 6


def _within_profile(table: str, column: str, values: np.ndarray) -> np.ndarray:
    """Clip a numeric column to its profiled range widened by ``RANGE_SLACK`` of the span."""
    quantiles = _facts(table, column).get("quantiles")
    if quantiles is None or column in KEYS:
        return values
    low, high = quantiles["0"], quantiles["1"]
    slack = RANGE_SLACK * (high - low)
    return np.clip(values, low - slack, high + slack)


def _finish(table: str, column: str, kind: str, values: np.ndarray) -> np.ndarray:
    """Cast a column to its schema kind: int64, rounded float64 or object labels."""
    if kind == "category":
        return np.asarray(values, dtype=object)
    values = _within_profile(table, column, np.asarray(values, dtype=float))
    if kind == "int":
        if np.isnan(values).any():
            raise ValueError(f"{table}.{column}: integer column with missing values")
        return np.rint(values).astype(np.int64)
    return np.round(values, _decimals(table, column)) + 0.0


def _frame(table: str, data: dict) -> pd.DataFrame:
    """A table's DataFrame with exactly the schema columns, in order, with their kinds."""
    kinds = schema.column_kinds(table)
    columns = schema.table_columns(table)
    frame = pd.DataFrame({c: _finish(table, c, kinds[c], data[c]) for c in columns})
    logger.info("generated %s: %d rows x %d columns", table, len(frame), frame.shape[1])
    return frame


def _select(data: dict, rows: np.ndarray) -> dict:
    """Rows of every column array of a column dict."""
    return {column: np.asarray(values)[rows] for column, values in data.items()}


def _client_keys(pop: _Population, prev: dict, part: dict) -> dict:
    """Add SK_ID_PREV / SK_ID_CURR to a loan-level table (rows point at previous_application)."""
    rows = part["prev_row"]
    return part | {
        "SK_ID_PREV": prev["SK_ID_PREV"][rows],
        "SK_ID_CURR": pop.ids[prev["owner"][rows]],
    }


def _check(config: GenerateConfig) -> None:
    """Reject configurations that cannot be generated."""
    if config.n_train < 1 or config.n_test < 0:
        raise ValueError(
            f"need n_train >= 1 and n_test >= 0, got {config.n_train}, {config.n_test}"
        )
    if not 0 < config.target_rate < 1:
        raise ValueError(f"target_rate must be in (0, 1), got {config.target_rate}")
    if config.history_scale <= 0:
        raise ValueError(f"history_scale must be > 0, got {config.history_scale}")


def generate_tables(config: GenerateConfig) -> dict[str, pd.DataFrame]:
    """Generate the eight Home Credit tables.

    Args:
        config: seed, sizes, default rate and side-table scale.

    Returns:
        ``{table: frame}`` keyed by ``schema.TABLES``; each frame has exactly
        ``schema.table_columns(table)`` in order. application_test has no TARGET.

    Raises:
        ValueError: on an impossible configuration.
    """
    _check(config)
    rng = np.random.default_rng(config.seed)
    scale = config.history_scale
    pop = _population(rng, config.n_train, config.n_test)
    cols = _application(rng, pop)
    risk = pop.latent["risk"]
    bureau = _bureau(rng, pop, cols, scale)
    balance = _bureau_balance(rng, bureau, risk, scale)
    prev = _previous(rng, pop, cols, scale)
    pos = _pos_cash(rng, prev, risk, scale)
    side = {"bureau": bureau, PREV: prev, "installments": _installments(rng, prev, pos)}
    side["cards"] = _credit_cards(rng, prev, risk, scale)
    cols[schema.TARGET] = _target(rng, pop, cols, side, config.target_rate)
    bureau["SK_ID_CURR"] = pop.ids[bureau["owner"]]
    prev["SK_ID_CURR"] = pop.ids[prev["owner"]]
    tables = {
        TRAIN: _frame(TRAIN, _select(cols, ~pop.is_test)),
        TEST: _frame(TEST, _select(cols, pop.is_test)),
        "bureau": _frame("bureau", bureau),
        "bureau_balance": _frame("bureau_balance", balance),
        PREV: _frame(PREV, prev),
        "POS_CASH_balance": _frame("POS_CASH_balance", _client_keys(pop, prev, pos)),
        "installments_payments": _frame(
            "installments_payments", _client_keys(pop, prev, side["installments"])
        ),
        "credit_card_balance": _frame(
            "credit_card_balance", _client_keys(pop, prev, side["cards"])
        ),
    }
    return {table: tables[table] for table in schema.TABLES}


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each table to ``out_dir/<table>.csv`` (plain CSV, no index).

    Args:
        tables: frames keyed by table name (as returned by :func:`generate_tables`).
        out_dir: destination folder, created if needed.

    Returns:
        The written paths, in the order of ``tables``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, frame in tables.items():
        path = out_dir / f"{table}.csv"
        frame.to_csv(path, index=False)
        logger.info("wrote %s (%d rows)", path, len(frame))
        paths.append(path)
    return paths
