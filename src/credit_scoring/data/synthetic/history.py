"""The six side tables (bureau, bureau_balance, previous_application, POS_CASH_balance,
installments_payments, credit_card_balance), drawn per client and per loan from the same
latent factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from credit_scoring.data import schema
from credit_scoring.data.schema import DAYS_PER_MONTH, DAYS_PER_YEAR
from credit_scoring.data.synthetic.distributions import (
    ANOMALY,
    BUREAU_ID_START,
    PREV_ID_START,
    Population,
    Terms,
    annuity_payment,
    bernoulli,
    choose,
    column_facts,
    draw_category,
    expand,
    from_frequencies,
    from_quantiles,
    from_score,
    labels,
    normal_score,
    pick,
    round_to,
    spread_ids,
    with_missing,
)

# Share of clients with rows in each side table (clients with complete histories in the sample).
COVERAGE = {"bureau": 0.6, "previous_application": 0.78, "bureau_balance": 0.65}
# bureau_balance records whose statuses are all unknown (X), or unknown for the older half.
X_ALL_SHARE, X_HALF_SHARE = 0.25, 0.3
# bureau_balance STATUS labels by code: months late 0-5, unknown, closed.
BALANCE_STATUSES = ("0", "1", "2", "3", "4", "5", "X", "C")
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


def _client_counts(
    rng: np.random.Generator, table: str, has: np.ndarray, terms: Terms, scale: float
) -> np.ndarray:
    """Rows per client (0 without history) from the profiled rows-per-client quantiles."""
    quantiles = schema.table_profile(table)["rows_per_SK_ID_CURR"]
    counts = from_quantiles(quantiles, ndtr(normal_score(rng, has.size, terms)))
    return np.where(has, np.maximum(np.rint(counts * scale), 1), 0).astype(np.int64)


def _side_category(rng: np.random.Generator, table: str, column: str, n: int, keep=None):
    """Draw a side-table category by its profiled frequencies (optionally a subset)."""
    freqs = column_facts(table, column)["frequencies"]
    if keep is not None:
        freqs = {k: v for k, v in freqs.items() if keep(k)}
    return draw_category(rng, freqs, n)


def _side_numeric(rng: np.random.Generator, table: str, column: str, terms: Terms) -> np.ndarray:
    """Draw a side-table numeric column from its profiled marginal (sized by the drivers)."""
    return from_score(column_facts(table, column), normal_score(rng, terms[0][1].size, terms))


def _side_generic(rng: np.random.Generator, table: str, column: str, n: int) -> np.ndarray:
    """Draw a side-table column from its profile alone (random missing values)."""
    facts = column_facts(table, column)
    if facts["dtype"] == "category":
        values = draw_category(rng, facts["frequencies"], n)
    else:
        values = from_score(facts, rng.standard_normal(n))
    return _masked(rng, table, column, values)


def draw_bureau(rng: np.random.Generator, pop: Population, cols: dict, scale: float) -> dict:
    """Bureau credits: state, dates, amounts; overdue and debt grow with risk."""
    n, lat = pop.size, pop.latent
    has = rng.random(n) < COVERAGE["bureau"]
    terms = [(0.25, lat["size"]), (0.2, lat["risk"]), (0.3, lat["age"])]
    owner, _ = expand(_client_counts(rng, "bureau", has, terms, scale))
    m, risk = owner.size, lat["risk"][owner]
    ctype = _side_category(rng, "bureau", "CREDIT_TYPE", m)
    card = ctype == "Credit card"
    opened = from_quantiles(column_facts("bureau", "DAYS_CREDIT")["quantiles"], rng.random(m))
    opened = np.minimum(np.maximum(np.round(opened), cols["DAYS_BIRTH"][owner] + 6575), -1)
    state = _credit_state(rng, risk, 1 + opened / 2922, card)
    out = {"owner": owner, "SK_ID_BUREAU": spread_ids(rng, m, BUREAU_ID_START)}
    out |= {"CREDIT_TYPE": ctype, "CREDIT_ACTIVE": state, "DAYS_CREDIT": opened}
    out["CREDIT_CURRENCY"] = _side_category(rng, "bureau", "CREDIT_CURRENCY", m)
    out["CNT_CREDIT_PROLONG"] = from_frequencies(
        column_facts("bureau", "CNT_CREDIT_PROLONG")["frequencies"], rng.random(m)
    )
    _bureau_dates(rng, out, card)
    _bureau_amounts(rng, out, risk, lat["size"][owner], card)
    return out


def _credit_state(rng, risk: np.ndarray, recency: np.ndarray, card: np.ndarray) -> np.ndarray:
    """CREDIT_ACTIVE: recent credits, cards and risky clients are more often Active."""
    freqs = column_facts("bureau", "CREDIT_ACTIVE")["frequencies"]
    active = bernoulli(rng, 3.0 * recency + 0.8 * card + 0.5 * risk, freqs["Active"])
    sold = ~active & (rng.random(risk.size) < freqs.get("Sold", 0.0))
    return labels(("Closed", "Active", "Sold"), np.select([active, sold], [1, 2], 0))


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
    late = active & bernoulli(rng, 1.6 * risk, 0.025)
    out["CREDIT_DAY_OVERDUE"] = np.where(late, np.minimum(1 + rng.exponential(35, m), -opened), 0)
    amount = _side_numeric(rng, "bureau", "AMT_CREDIT_SUM", [(0.45, size)])
    left = np.where(np.isnan(end), rng.uniform(0.2, 0.9, m), end / np.maximum(end - opened, 1))
    debt = np.where(
        active, amount * np.clip(left, 0.05, 1) * np.exp(0.25 * np.minimum(risk, 2)), 0
    )
    debt = np.minimum(debt, amount)
    limit = np.where(card & active, np.maximum(amount - debt, 0), 0.0)
    overdue = np.where(late, np.minimum(debt * rng.uniform(0.02, 0.3, m), 1e5), 0.0)
    ever_late = late | bernoulli(rng, 1.3 * risk, 0.08)
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
    rate = column_facts(table, column)["missing_rate"]
    if keep is not None and keep.size:
        rate = rate / max(1.0 - keep.mean(), 1e-9)
    mask = rng.random(values.size) < rate
    if keep is not None:
        mask &= ~keep
    return with_missing(values, mask)


def draw_bureau_balance(rng: np.random.Generator, bureau: dict, risk: np.ndarray, scale: float):
    """Monthly statuses of bureau credits: C after closing, X unknown, 1-5 late (risky)."""
    m = bureau["DAYS_CREDIT"].size
    months = np.minimum(np.floor(-bureau["DAYS_CREDIT"] / DAYS_PER_MONTH) + 1, 97)
    has = rng.random(m) < COVERAGE["bureau_balance"]
    record, position = expand(np.where(has, np.maximum(np.ceil(months * scale), 1), 0))
    month = -position
    closing = np.floor(np.nan_to_num(bureau["DAYS_ENDDATE_FACT"], nan=1e9) / DAYS_PER_MONTH)
    half = np.floor(bureau["DAYS_CREDIT"] / 2 / DAYS_PER_MONTH)
    draw = rng.random(m)
    unknown_from = np.select(
        [draw < X_ALL_SHARE, draw < X_ALL_SHARE + X_HALF_SHARE], [1, half], -200
    )
    late_odds = 1.5 * risk[bureau["owner"]] + 0.8 * rng.standard_normal(m)
    late = bernoulli(rng, late_odds[record], 0.03)
    level = np.minimum(rng.geometric(0.7, month.size), 5)
    code = np.where(late, level, 0).astype(np.int8)
    code[month < unknown_from[record]] = BALANCE_STATUSES.index("X")
    code[month > closing[record]] = BALANCE_STATUSES.index("C")
    now = np.flatnonzero(month == 0)
    overdue = bureau["CREDIT_DAY_OVERDUE"][record[now]]
    code[now[overdue > 0]] = np.minimum(1 + overdue[overdue > 0] // 30, 5)
    ids = bureau["SK_ID_BUREAU"][record]
    return {"SK_ID_BUREAU": ids, "MONTHS_BALANCE": month, "STATUS": labels(BALANCE_STATUSES, code)}


PREV = "previous_application"


def draw_previous(rng: np.random.Generator, pop: Population, cols: dict, scale: float) -> dict:
    """Previous applications: type, status (Refused grows with risk), amounts, labels, dates."""
    n, lat = pop.size, pop.latent
    has = rng.random(n) < COVERAGE[PREV]
    terms = [(0.3, lat["risk"]), (0.2, lat["age"])]
    owner, _ = expand(_client_counts(rng, PREV, has, terms, scale))
    m, risk = owner.size, lat["risk"][owner]
    ctype = _side_category(rng, PREV, "NAME_CONTRACT_TYPE", m)
    decision = np.round(
        from_quantiles(column_facts(PREV, "DAYS_DECISION")["quantiles"], rng.random(m))
    )
    adult = np.round(cols["DAYS_BIRTH"][owner] + 18 * DAYS_PER_YEAR)
    out = {"owner": owner, "SK_ID_PREV": spread_ids(rng, m, PREV_ID_START)}
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
    return np.array(PREV_STATUSES, dtype=object)[choose(rng, logits)]


def _prev_amounts(rng: np.random.Generator, out: dict, size: np.ndarray) -> None:
    """Asked amount, credit, down payment, goods price, term and annuity of each application."""
    ctype, status, m = out["NAME_CONTRACT_TYPE"], out["NAME_CONTRACT_STATUS"], size.size
    cash, consumer = ctype == "Cash loans", ctype == "Consumer loans"
    revolving = ctype == "Revolving loans"
    u = ndtr(normal_score(rng, m, [(0.45, size)]) + np.select([cash, consumer], [0.5, -0.6], -0.1))
    asked = from_quantiles(column_facts(PREV, "AMT_APPLICATION")["quantiles"], 0.3 + 0.7 * u)
    asked = np.select(
        [cash, revolving],
        [round_to(asked, 4500.0, 4500.0), round_to(asked, 22500.0, 22500.0)],
        np.round(asked, 2),
    )
    months = np.select([cash, consumer], [pick(rng, CASH_TERMS, m), pick(rng, CONSUMER_TERMS, m)])
    down = np.where(consumer & (rng.random(m) < 0.5), asked * rng.uniform(0.05, 0.3, m), 0.0)
    insured = rng.random(m) < np.where(cash, 0.6, 0.2)
    credit = np.where(cash & insured, asked * rng.uniform(1.03, 1.15, m), asked - down)
    annuity = annuity_payment(credit, months, rng.uniform(0.1, 0.35, m))
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
    out["NAME_PORTFOLIO"] = labels(
        ("XNA", "Cash", "POS", "Cards"), np.select([dead, cash, consumer, revolving], [0, 1, 2, 3])
    )
    walk_in = rng.random(m) >= 0.75
    out["NAME_PRODUCT_TYPE"] = labels(
        ("x-sell", "walk-in", "XNA"), np.where(cash & ~dead, walk_in.astype(np.int8), 2)
    )
    industry = draw("NAME_SELLER_INDUSTRY", _not_xna)
    out["NAME_SELLER_INDUSTRY"] = np.where(consumer, industry, "XNA")
    yield_group = draw("NAME_YIELD_GROUP", _not_xna)
    out["NAME_YIELD_GROUP"] = np.where((cash | consumer) & ~dead, yield_group, "XNA")
    out["PRODUCT_COMBINATION"] = _product_combination(rng, ctype, dead)
    area = from_quantiles(
        column_facts(PREV, "SELLERPLACE_AREA")["quantiles"], rng.uniform(0.5, 1, m)
    )
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
    refreshed = rng.random(owner.size) >= 0.9
    return labels(("Repeater", "Refreshed", "New"), np.where(first, 2, refreshed.astype(np.int8)))


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


def draw_pos_cash(rng: np.random.Generator, prev: dict, risk: np.ndarray, scale: float) -> dict:
    """Monthly rows of approved cash / consumer loans; risky clients pay late (SK_DPD > 0)."""
    months = prev["CNT_PAYMENT"]
    kind = np.isin(prev["NAME_CONTRACT_TYPE"], ["Cash loans", "Consumer loans"])
    loans = np.flatnonzero(kind & (np.nan_to_num(months) > 0) & (prev["first_due"] <= -1))
    first_due, months = prev["first_due"][loans], months[loans].astype(np.int64)
    first_month = np.floor(first_due / DAYS_PER_MONTH)
    total = (np.minimum(-1, first_month + months) - first_month + 1).astype(np.int64)
    keep = np.minimum(total, np.maximum(np.ceil(total * scale), 1)).astype(np.int64)
    loan, position = expand(keep)
    step = position + (total - keep)[loan]
    future = (months[loan] - step).astype(float)
    odds = 1.6 * risk[prev["owner"][loans]] + 0.8 * rng.standard_normal(loans.size)
    late = bernoulli(rng, odds[loan], 0.04) & (future > 0)
    dpd = np.where(late, rng.integers(1, 31, loan.size), 0)
    dpd = dpd + np.where(late & (rng.random(loan.size) < 0.1), rng.integers(30, 300, loan.size), 0)
    blank = (
        rng.random(loan.size) < column_facts("POS_CASH_balance", "CNT_INSTALMENT")["missing_rate"]
    )
    return {
        "prev_row": loans[loan],
        "MONTHS_BALANCE": first_month[loan] + step,
        "CNT_INSTALMENT": np.where(blank, np.nan, months[loan].astype(float)),
        "CNT_INSTALMENT_FUTURE": np.where(blank, np.nan, future),
        "NAME_CONTRACT_STATUS": labels(("Active", "Completed"), (future == 0).astype(np.int8)),
        "SK_DPD": dpd,
        "SK_DPD_DEF": np.where(rng.random(loan.size) < 0.25, dpd, 0),
        "step": step,
        "due": first_due[loan] + np.round(step * DAYS_PER_MONTH),
        "live": future > 0,
    }


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each group of ``counts`` contiguous rows."""
    total = np.cumsum(values)
    before = np.concatenate([[0.0], total])[np.cumsum(counts) - counts]
    return total - np.repeat(before, counts)


def draw_credit_cards(
    rng: np.random.Generator, prev: dict, risk: np.ndarray, scale: float
) -> dict:
    """Monthly rows of approved revolving loans; risky clients sit near their limit."""
    approved = prev["NAME_CONTRACT_STATUS"] == "Approved"
    cards = np.flatnonzero(
        approved
        & (prev["NAME_CONTRACT_TYPE"] == "Revolving loans")
        & (prev["DAYS_DECISION"] <= -31)
    )
    total = np.minimum(-(np.floor(prev["DAYS_DECISION"][cards] / DAYS_PER_MONTH) + 1), 96)
    keep = np.maximum(np.ceil(total * scale), 1).astype(np.int64)
    card, position = expand(keep)
    n, card_risk = card.size, risk[prev["owner"][cards]]
    idle = bernoulli(rng, -0.9 * card_risk, 0.4)
    level = ndtr(0.9 * card_risk + 0.5 * rng.standard_normal(cards.size) - 0.3)
    util = np.clip(level[card] + 0.08 * rng.standard_normal(n), 0, 1.05) * ~idle[card]
    top = column_facts("credit_card_balance", "AMT_CREDIT_LIMIT_ACTUAL")["quantiles"]["1"]
    limit = np.minimum(round_to(prev["AMT_CREDIT"][cards], 22500.0), top)[card]
    out = {"prev_row": cards[card], "MONTHS_BALANCE": position - keep[card]}
    out["AMT_CREDIT_LIMIT_ACTUAL"], out["util"] = limit, util
    _card_amounts(rng, out, limit * util, keep)
    late = bernoulli(rng, 1.5 * card_risk[card] + 2.0 * (util > 0.9), 0.03) & (util > 0)
    dpd = np.where(late, rng.integers(1, 60, n), 0)
    out["SK_DPD"] = dpd
    out["SK_DPD_DEF"] = np.where(rng.random(n) < 0.5, np.minimum(dpd, rng.integers(1, 3, n)), 0)
    closed = (rng.random(cards.size) < 0.08)[card] & (position == keep[card] - 1)
    out["NAME_CONTRACT_STATUS"] = labels(("Active", "Completed"), closed.astype(np.int8))
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
    blank = rng.random(n) < column_facts(table, "AMT_DRAWINGS_ATM_CURRENT")["missing_rate"]
    minimum = np.round(0.05 * balance, 2)
    paid = np.minimum(minimum * rng.uniform(0.5, 3, n), balance)
    unpaid = rng.random(n) < column_facts(table, "AMT_INST_MIN_REGULARITY")["missing_rate"]
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
