"""Building blocks of the synthetic data: the profiled facts of each column, the latent
factors of the clients, and seeded draws from quantiles and frequencies tilted by risk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, ndtr, ndtri

from credit_scoring.data import schema

TRAIN, TEST = schema.APPLICATION_TABLES
ANOMALY = float(schema.DAYS_EMPLOYED_ANOMALY)

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

Terms = Sequence[tuple[float, np.ndarray]]


@dataclass
class Population:
    """Clients of both application tables with their latent factors."""

    ids: np.ndarray
    is_test: np.ndarray
    latent: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        """Number of clients."""
        return self.ids.size


def column_facts(table: str, column: str, target: str | None = None) -> dict[str, Any]:
    """Return the profiled facts of ``table.column`` (of one TARGET class when given)."""
    info = schema.table_profile(table)
    return info["profile"][column] if target is None else info["by_target"][target][column]


def knots(quantiles: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Return (levels, values) of a quantile dict, sorted by level."""
    levels = np.array([float(level) for level in quantiles])
    values = np.array(list(quantiles.values()), dtype=float)
    order = np.argsort(levels)
    return levels[order], values[order]


def from_quantiles(quantiles: dict[str, float], u: np.ndarray) -> np.ndarray:
    """Inverse CDF, piecewise linear between the profiled quantiles."""
    levels, values = knots(quantiles)
    return np.interp(u, levels, values)


def _cdf(quantiles: dict[str, float], x: float) -> float:
    """CDF of the piecewise-linear quantile distribution at ``x`` (mid-point on atoms)."""
    values = from_quantiles(quantiles, np.linspace(0.0, 1.0, 2001))
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


def from_frequencies(frequencies: dict[str, float], u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a discrete numeric distribution (values in ascending order)."""
    values, probs = _discrete(frequencies)
    index = np.searchsorted(np.cumsum(probs), u, side="right")
    return values[np.minimum(index, values.size - 1)]


def from_score(facts: dict[str, Any], score: np.ndarray) -> np.ndarray:
    """Map a standard-normal score to values with the column's profiled marginal."""
    u = ndtr(score)
    if _is_discrete(facts):
        return from_frequencies(facts["frequencies"], u)
    return from_quantiles(facts["quantiles"], u)


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
    overall = column_facts(TRAIN, column)
    class0, class1 = column_facts(TRAIN, column, "0"), column_facts(TRAIN, column, "1")
    if _is_discrete(overall):
        return _discrete_shift(overall, class0, class1)
    quantiles = overall["quantiles"]
    low, high = (_cdf(quantiles, f["quantiles"]["0.5"]) for f in (class0, class1))
    return float(_probit(high) - _probit(low))


def risk_loading(column: str) -> float:
    """Loading of a numeric application column on the risk latent."""
    loading = _probit_shift(column) / RISK_GAP * RISK_LOADING_SCALE.get(column, 1.0)
    return float(np.clip(loading, -MAX_LOADING, MAX_LOADING))


def missing_loading(column: str) -> float:
    """Loading of a column's missingness on the risk latent."""
    rates = [column_facts(TRAIN, column, c)["missing_rate"] for c in ("0", "1")]
    if min(rates) <= 0 or max(rates) >= 1:
        return 0.0
    shift = _probit(rates[1]) - _probit(rates[0])
    return float(np.clip(shift / RISK_GAP, -0.4, 0.4))


def category_tilt(column: str, categories: Sequence[str]) -> np.ndarray:
    """Per-category risk coefficients: log ratio of class frequencies over the risk gap."""
    freq0 = column_facts(TRAIN, column, "0").get("frequencies", {})
    freq1 = column_facts(TRAIN, column, "1").get("frequencies", {})
    tilt = np.zeros(len(categories))
    for i, category in enumerate(categories):
        p0, p1 = freq0.get(category, 0.0), freq1.get(category, 0.0)
        if min(p0, p1) >= 0.003:
            tilt[i] = np.clip(np.log(p1 / p0), -1.0, 1.0) / RISK_GAP
    return tilt


def normal_score(rng: np.random.Generator, n: int, terms: Terms = ()) -> np.ndarray:
    """Standard-normal score ``sum(w * x) + sqrt(1 - sum(w^2)) * noise`` (x standard normal)."""
    total = sum(weight * weight for weight, _ in terms)
    shrink = 1.0 if total <= 0.98 else np.sqrt(0.98 / total)
    score = np.sqrt(max(1.0 - total * shrink**2, 0.0)) * rng.standard_normal(n)
    for weight, driver in terms:
        score = score + weight * shrink * driver
    return score


def choose(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """Index of a categorical draw per row of ``logits`` (Gumbel-max)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def draw_category(
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
    return categories[choose(rng, logits)]


def labels(choices: Sequence[str], index: np.ndarray) -> np.ndarray:
    """Object array of ``choices[index]`` sharing one str per label (not one per row)."""
    return np.array(choices, dtype=object)[index]


def missing_mask(rng: np.random.Generator, n: int, rate: float, terms: Terms = ()) -> np.ndarray:
    """Missing-value mask with the given rate; drivers with positive weight raise missingness."""
    if rate <= 0:
        return np.zeros(n, dtype=bool)
    return normal_score(rng, n, terms) > ndtri(1.0 - rate)


def with_missing(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return ``values`` with NaN (numbers) or None (labels) where ``mask``."""
    out = values.astype(object if values.dtype == object else float, copy=True)
    out[mask] = None if out.dtype == object else np.nan
    return out


def calibrated_intercept(score: np.ndarray, rate: float, u: np.ndarray | None = None) -> float:
    """Bisection for ``c`` with ``mean(sigmoid(c + score)) = rate`` (realised rate when ``u``)."""
    low, high = -30.0, 30.0
    for _ in range(60):
        mid = (low + high) / 2
        prob = expit(mid + score)
        realised = np.mean(u < prob) if u is not None else np.mean(prob)
        low, high = (mid, high) if realised < rate else (low, mid)
    return high


def bernoulli(rng: np.random.Generator, score: np.ndarray, rate: float) -> np.ndarray:
    """Bernoulli draws with log-odds ``c + score``, ``c`` set for an expected ``rate``."""
    if score.size == 0:
        return np.zeros(0, dtype=bool)
    return rng.random(score.size) < expit(calibrated_intercept(score, rate) + score)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (owner, position) of rows when owner i has ``counts[i]`` rows."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - np.repeat(starts, counts)


def spread_ids(rng: np.random.Generator, n: int, start: int) -> np.ndarray:
    """Unique integer ids spread over ``ID_SPAN`` from ``start``, in random order."""
    gap = max(1, 2 * ID_SPAN // max(n, 1))
    return rng.permutation(start + np.cumsum(rng.integers(1, gap + 1, n)))


def pick(rng: np.random.Generator, options: tuple[Sequence, Sequence], n: int) -> np.ndarray:
    """Draw ``n`` values from ``(values, probabilities)``."""
    values, probs = options
    return rng.choice(np.asarray(values, dtype=float), size=n, p=np.asarray(probs) / sum(probs))


def annuity_payment(
    principal: np.ndarray, months: np.ndarray, yearly_rate: np.ndarray
) -> np.ndarray:
    """Monthly annuity of a loan of ``principal`` over ``months`` at ``yearly_rate``."""
    rate = yearly_rate / 12
    return principal * rate / (1 - (1 + rate) ** -np.maximum(months, 1))


def round_to(values: np.ndarray, step: float, minimum: float = 0.0) -> np.ndarray:
    """Round to a multiple of ``step``, not below ``minimum``."""
    return np.maximum(np.round(values / step) * step, minimum)
