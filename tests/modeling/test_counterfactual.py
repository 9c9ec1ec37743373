"""The counterfactual search on a known scorer: the payment burden (annuity / income)."""

from __future__ import annotations

import numpy as np
import pytest

from credit_scoring.modeling import counterfactual
from credit_scoring.modeling.counterfactual import (
    ACTIONABLE,
    CounterfactualConfig,
    candidates,
    change_size,
    search,
)

THRESHOLD = 0.1
APPLICATION = {
    "SK_ID_CURR": 7,
    "AMT_INCOME_TOTAL": 200_000.0,
    "AMT_CREDIT": 500_000.0,
    "AMT_ANNUITY": 30_000.0,
    "AMT_GOODS_PRICE": 450_000.0,
    "DAYS_BIRTH": -12_000,
    "CODE_GENDER": "F",
}


class Burden:
    """Probability of default = annuity / income (+ a goods-price term); counts its calls."""

    def __init__(self, goods_weight: float = 0.0) -> None:
        self.calls = 0
        self.goods_weight = goods_weight

    def probability(self, application: dict) -> float:
        goods = application.get("AMT_GOODS_PRICE") or 0.0
        burden = application["AMT_ANNUITY"] / application["AMT_INCOME_TOTAL"]
        return burden + self.goods_weight * goods / 1e7

    def __call__(self, variants: list[dict]) -> np.ndarray:
        self.calls += 1
        return np.array([self.probability(v) for v in variants])


def test_each_option_grants_and_is_the_smallest_of_its_way():
    scorer = Burden(goods_weight=0.05)
    assert scorer.probability(APPLICATION) >= THRESHOLD  # refused as asked
    result = search(APPLICATION, scorer, THRESHOLD)
    assert scorer.calls == 1  # one batch for every candidate
    assert result["found"]
    options = result["options"]
    assert [o["strategy"] for o in options] and len({o["strategy"] for o in options}) == len(
        options
    )
    assert [o["change"] for o in options] == sorted(o["change"] for o in options)
    assert result["message"].startswith(options[0]["description"])
    config = CounterfactualConfig()
    for option in options:
        changed = APPLICATION | option["changes"]
        assert set(option["changes"]) <= set(ACTIONABLE)
        assert scorer.probability(changed) == pytest.approx(option["probability"])
        assert option["probability"] < THRESHOLD and option["decision"] == "granted"
        # No smaller change of the same way grants it.
        for candidate in candidates(APPLICATION, config):
            if candidate.strategy != option["strategy"]:
                continue
            change = candidate.apply(APPLICATION, config.rounding)
            if change_size(APPLICATION, change) < option["change"] - 1e-9:
                assert scorer.probability(APPLICATION | change) >= THRESHOLD
    by_way = {o["strategy"]: o for o in options}
    # Borrowing 35% less brings the annuity from 30,000 to 19,500: burden 0.0975 < 0.1.
    assert by_way["lower_credit"]["changes"] == {"AMT_CREDIT": 325_000.0, "AMT_ANNUITY": 19_500.0}
    assert by_way["lower_credit"]["change"] == 0.35
    assert by_way["longer_term"]["changes"] == {"AMT_ANNUITY": 17_142.0}  # 1.75 times as long
    assert by_way["lower_credit"]["description"] == (
        "Borrow less for the same goods: credit 325,000 instead of 500,000 (-35%), "
        "annuity 19,500 instead of 30,000 (-35%)."
    )


def test_the_combined_way_is_kept_only_when_smaller_than_each_change_alone():
    # Annuity burden alone: lowering the credit adds nothing to a longer term.
    result = search(APPLICATION, Burden(), THRESHOLD)
    ways = {o["strategy"]: o["change"] for o in result["options"]}
    assert "lower_credit_longer_term" not in ways or ways["lower_credit_longer_term"] < min(
        ways["lower_credit"], ways["longer_term"]
    )

    def credit_and_burden(variants: list[dict]) -> np.ndarray:
        # Granted only with a credit at most 90% and an annuity at most 73% of those asked.
        return np.array(
            [
                0.05 if v["AMT_CREDIT"] <= 450_000 and v["AMT_ANNUITY"] <= 22_000 else 0.5
                for v in variants
            ]
        )

    both = search(APPLICATION, credit_and_burden, THRESHOLD)
    combined = {o["strategy"]: o for o in both["options"]}["lower_credit_longer_term"]
    # 20% less over a term 1.1 times as long (annuity -27.3%) beats 30% less alone (and 10% less
    # over a term 1.25 times as long: annuity -28%).
    assert combined["changes"] == {"AMT_CREDIT": 400_000.0, "AMT_ANNUITY": 21_818.0}
    assert combined["change"] == 0.2727
    assert combined["change"] < min(
        o["change"] for o in both["options"] if o["strategy"] != "lower_credit_longer_term"
    )


def test_nothing_about_the_person_is_changed():
    tried = candidates(APPLICATION, CounterfactualConfig())
    for candidate in tried:
        change = candidate.apply(APPLICATION, 100.0)
        assert set(change) <= set(ACTIONABLE)
        credit = change.get("AMT_CREDIT", APPLICATION["AMT_CREDIT"])
        assert credit >= 0.3 * APPLICATION["AMT_CREDIT"] - 1e-6
        assert 1.0 <= candidate.term_factor <= 2.0
    assert {c.strategy for c in tried} == set(counterfactual.STRATEGIES)


def test_no_change_within_bounds_says_so():
    result = search(APPLICATION, lambda variants: np.full(len(variants), 0.5), THRESHOLD)
    assert result == {
        "found": False,
        "message": "No change of the loan's terms within bounds grants this credit (credit down "
        "to 30% of the amount asked, term up to 2 times as long).",
        "options": [],
    }


def test_missing_amounts_leave_out_the_ways_that_need_them():
    no_goods = APPLICATION | {"AMT_GOODS_PRICE": None}
    ways = {c.strategy for c in candidates(no_goods, CounterfactualConfig())}
    assert "cheaper_goods" not in ways
    no_annuity = {k: v for k, v in APPLICATION.items() if k != "AMT_ANNUITY"}
    ways = {c.strategy for c in candidates(no_annuity, CounterfactualConfig())}
    assert ways == {"lower_credit", "cheaper_goods"}
    changes = [c.apply(no_annuity, 100.0) for c in candidates(no_annuity, CounterfactualConfig())]
    assert all("AMT_ANNUITY" not in change for change in changes)


def test_tighter_bounds_shrink_the_search():
    # At most 20% less over a term 1.2 times as long: the annuity falls to 20,000, burden 0.1.
    config = CounterfactualConfig(min_credit_factor=0.8, max_term_factor=1.2)
    result = search(APPLICATION, Burden(), THRESHOLD, config)
    assert not result["found"]
    assert "80%" in result["message"] and "1.2 times" in result["message"]
    looser = search(APPLICATION, Burden(), THRESHOLD, CounterfactualConfig(max_term_factor=1.25))
    assert looser["found"]
