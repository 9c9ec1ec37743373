"""What would change a refused decision: the smallest change of the loan's terms that grants it.

Only what the applicant chooses is changed: the credit amount, the term (through the annuity,
the same credit repaid in more, smaller instalments) and the price of the goods. Nothing about
the person (age, gender, family, income, employment, history) is ever touched. Four ways are
tried on a grid:

* ``lower_credit``: borrow less for the same goods (a larger down payment); the annuity shrinks
  with the credit, the term stays;
* ``cheaper_goods``: cheaper goods, financed the same way (credit, annuity and goods price
  shrink together);
* ``longer_term``: the same credit over a longer term (a smaller annuity);
* ``lower_credit_longer_term``: both.

A change's size is the relative change of its most changed amount (borrowing 20% less, or paying
an annuity 20% smaller, are both 0.2). For each way the smallest granted change is kept (the
combined way only when it is smaller than either change alone); the options come smallest first.
All candidates are scored in one call of the caller's scorer, which must score them exactly as the
decision was (same model, features and history).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from credit_scoring.modeling.decision import GRANTED, decide

CREDIT, ANNUITY, GOODS = "AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"
ACTIONABLE = (CREDIT, ANNUITY, GOODS)
# The ways, and how each is told to the client.
HEADLINES = {
    "lower_credit": "Borrow less for the same goods",
    "cheaper_goods": "Choose cheaper goods",
    "longer_term": "Repay the same credit over a longer term",
    "lower_credit_longer_term": "Borrow less over a longer term",
}
STRATEGIES = tuple(HEADLINES)
LABELS = {GOODS: "goods price", CREDIT: "credit", ANNUITY: "annuity"}

Scorer = Callable[[list[dict[str, Any]]], np.ndarray]


@dataclass(frozen=True)
class CounterfactualConfig:
    """Bounds and resolution of the search.

    Attributes:
        min_credit_factor: the credit (and goods price) is never cut below this share.
        max_term_factor: the term is at most this many times as long.
        step: grid step of the credit factor (0.05: 5% of the asked amount).
        term_factors: term multipliers tried (each at most ``max_term_factor``).
        rounding: amounts are rounded down to a multiple of this (the annuity to a unit).
    """

    min_credit_factor: float = 0.3
    max_term_factor: float = 2.0
    step: float = 0.05
    term_factors: tuple[float, ...] = (1.1, 1.2, 1.25, 1.33, 1.5, 1.75, 2.0)
    rounding: float = 100.0


@dataclass(frozen=True)
class Candidate:
    """One change of the loan's terms: credit times ``credit_factor``, term times
    ``term_factor``, goods price with the credit or unchanged."""

    strategy: str
    credit_factor: float
    term_factor: float

    def apply(self, application: Mapping[str, Any], rounding: float) -> dict[str, float]:
        """The changed fields' new values (amounts rounded down, never to 0)."""
        changes = {}
        if self.credit_factor < 1.0:
            changes[CREDIT] = _round_down(application[CREDIT] * self.credit_factor, rounding)
        if _positive(application.get(ANNUITY)):
            annuity = application[ANNUITY] * self.credit_factor / self.term_factor
            changes[ANNUITY] = _round_down(annuity, 1.0)
        if self.strategy == "cheaper_goods":
            changes[GOODS] = _round_down(application[GOODS] * self.credit_factor, rounding)
        return changes


def _round_down(value: float, unit: float) -> float:
    return float(max(np.floor(value / unit) * unit, unit))


def change_size(application: Mapping[str, Any], changes: Mapping[str, float]) -> float:
    """Relative change of the most changed amount (0.2: one amount is 20% smaller)."""
    return max(abs(1.0 - value / application[field]) for field, value in changes.items())


def candidates(application: Mapping[str, Any], config: CounterfactualConfig) -> list[Candidate]:
    """Every change tried for ``application`` (ways needing a missing amount are left out)."""
    steps = int(round((1.0 - config.min_credit_factor) / config.step))
    credit_factors = [round(1.0 - config.step * k, 6) for k in range(1, steps + 1)]
    term_factors = [t for t in config.term_factors if 1.0 < t <= config.max_term_factor]
    has_annuity = _positive(application.get(ANNUITY))
    found = [Candidate("lower_credit", f, 1.0) for f in credit_factors]
    if _positive(application.get(GOODS)):
        found += [Candidate("cheaper_goods", f, 1.0) for f in credit_factors]
    if has_annuity:
        found += [Candidate("longer_term", 1.0, t) for t in term_factors]
        found += [
            Candidate("lower_credit_longer_term", f, t)
            for f in credit_factors
            for t in term_factors
        ]
    return found


def _positive(value: Any) -> bool:
    return value is not None and np.isfinite(value) and value > 0


def describe(strategy: str, application: Mapping[str, Any], changes: Mapping[str, float]) -> str:
    """The change in words, with the amounts an officer quotes to the client."""
    amounts = [
        f"{LABELS[field]} {changes[field]:,.0f} instead of {application[field]:,.0f} "
        f"({changes[field] / application[field] - 1:+.0%})"
        for field in (GOODS, CREDIT, ANNUITY)
        if field in changes
    ]
    return f"{HEADLINES[strategy]}: {', '.join(amounts)}."


def search(
    application: Mapping[str, Any],
    score: Scorer,
    threshold: float,
    config: CounterfactualConfig | None = None,
) -> dict[str, Any]:
    """The smallest changes of ``application``'s loan terms that grant it, one per way.

    Args:
        application: the refused application (raw fields; ``AMT_CREDIT`` required).
        score: probabilities of default of a list of changed applications, in order.
        threshold: the decision threshold the application was refused at.
        config: search bounds (default: :class:`CounterfactualConfig`).

    Returns:
        ``{"found", "message", "options"}``; each option has ``strategy``, ``description``,
        ``changes`` (new values of the changed fields), ``change`` (its size), ``probability``
        and ``decision``, smallest change first (then lowest probability).
    """
    config = config or CounterfactualConfig()
    tried = candidates(application, config)
    changes = [candidate.apply(application, config.rounding) for candidate in tried]
    probabilities = score([dict(application) | change for change in changes]) if tried else []
    best: dict[str, dict[str, Any]] = {}
    for candidate, change, probability in zip(tried, changes, probabilities, strict=True):
        if decide(float(probability), threshold) != GRANTED:
            continue
        option = {
            "strategy": candidate.strategy,
            "description": describe(candidate.strategy, application, change),
            "changes": change,
            "change": round(change_size(application, change), 4),
            "probability": float(probability),
            "decision": GRANTED,
        }
        kept = best.get(candidate.strategy)
        if kept is None or (option["change"], option["probability"]) < (
            kept["change"],
            kept["probability"],
        ):
            best[candidate.strategy] = option
    both = best.get("lower_credit_longer_term")
    if both is not None and any(
        best[way]["change"] <= both["change"]
        for way in ("lower_credit", "longer_term")
        if way in best
    ):  # one of its two changes alone, no larger, already grants it
        del best["lower_credit_longer_term"]
    options = sorted(best.values(), key=lambda o: (o["change"], o["probability"]))
    if not options:
        return {
            "found": False,
            "message": (
                "No change of the loan's terms within bounds grants this credit (credit down to "
                f"{config.min_credit_factor:.0%} of the amount asked, term up to "
                f"{config.max_term_factor:g} times as long)."
            ),
            "options": [],
        }
    first = options[0]
    return {
        "found": True,
        "message": f"{first['description']} New probability of default "
        f"{first['probability']:.1%}, under the threshold {threshold:.1%}.",
        "options": options,
    }
