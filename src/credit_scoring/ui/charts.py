"""Plotly figures of the officer app and the human-readable labels and values they show.

Colours are never the only carrier of meaning: every bar and marker also says in words whether
it raises or lowers the risk, and the decision is written out.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from credit_scoring.data.schema import DAYS_EMPLOYED_ANOMALY, DAYS_PER_YEAR
from credit_scoring.ui.client import Distribution, Reason

RED = "#c0392b"
GREEN = "#1e8449"
LIGHT_RED = "#f5c6c0"
LIGHT_GREEN = "#c8e6cf"
NEUTRAL = "#7f8c9d"
INK = "#1f2d3d"
ORANGE = "#d35400"
RAISES = "▲ raises risk"
LOWERS = "▼ lowers risk"
FONT = {"family": "Source Sans Pro, Arial, sans-serif", "size": 13, "color": INK}

DECISIONS = {
    "granted": "Granted — crédit accordé",
    "refused": "Refused — crédit refusé",
}

# Short labels of the raw and engineered features an officer is most likely to see.
FEATURE_LABELS = {
    "NAME_CONTRACT_TYPE": "Contract type",
    "CODE_GENDER": "Gender",
    "FLAG_OWN_CAR": "Owns a car",
    "FLAG_OWN_REALTY": "Owns real estate",
    "CNT_CHILDREN": "Children",
    "CNT_FAM_MEMBERS": "Family members",
    "AMT_INCOME_TOTAL": "Annual income",
    "AMT_CREDIT": "Credit amount",
    "AMT_ANNUITY": "Annuity",
    "AMT_GOODS_PRICE": "Goods price",
    "NAME_TYPE_SUITE": "Accompanied by",
    "NAME_INCOME_TYPE": "Income type",
    "NAME_EDUCATION_TYPE": "Education",
    "NAME_FAMILY_STATUS": "Family status",
    "NAME_HOUSING_TYPE": "Housing",
    "OCCUPATION_TYPE": "Occupation",
    "ORGANIZATION_TYPE": "Employer type",
    "REGION_POPULATION_RELATIVE": "Region population (relative)",
    "REGION_RATING_CLIENT": "Region rating",
    "REGION_RATING_CLIENT_W_CITY": "Region rating (with city)",
    "HOUR_APPR_PROCESS_START": "Application hour",
    "WEEKDAY_APPR_PROCESS_START": "Application weekday",
    "DAYS_BIRTH": "Age",
    "DAYS_EMPLOYED": "Employment length",
    "DAYS_REGISTRATION": "Registration changed",
    "DAYS_ID_PUBLISH": "ID document changed",
    "DAYS_LAST_PHONE_CHANGE": "Phone changed",
    "OWN_CAR_AGE": "Car age (years)",
    "EXT_SOURCE_1": "External score 1",
    "EXT_SOURCE_2": "External score 2",
    "EXT_SOURCE_3": "External score 3",
    "EXT_SOURCE_MEAN": "External scores (mean)",
    "EXT_SOURCE_WEIGHTED": "External scores (weighted)",
    "EXT_SOURCE_PROD": "External scores (product)",
    "EXT_SOURCE_MIN": "External scores (lowest)",
    "EXT_SOURCE_MAX": "External scores (highest)",
    "EXT_SOURCE_STD": "External scores (spread)",
    "EXT_SOURCE_NAN_COUNT": "External scores missing",
    "CREDIT_ANNUITY_RATIO": "Credit / annuity (term)",
    "CREDIT_INCOME_RATIO": "Credit / income",
    "ANNUITY_INCOME_RATIO": "Annuity / income",
    "GOODS_CREDIT_RATIO": "Goods price / credit",
    "CREDIT_GOODS_DIFF": "Credit above goods price",
    "INCOME_PER_PERSON": "Income per family member",
    "CHILDREN_RATIO": "Children / family size",
    "EMPLOYED_AGE_RATIO": "Employment / age",
    "DAYS_EMPLOYED_ANOMALY": "Not employed / pensioner",
    "DOCUMENT_COUNT": "Documents provided",
    "CONTACT_FLAG_COUNT": "Contact channels",
    "ADDRESS_MISMATCH_COUNT": "Address mismatches",
    "REQ_CREDIT_BUREAU_TOTAL": "Credit bureau enquiries",
}

_PREFIXES = (
    ("BUREAU_BAL_", "Bureau history"),
    ("BUREAU_", "Other lenders"),
    ("PREV_", "Past applications"),
    ("POS_", "POS / cash loans"),
    ("INST_", "Instalments"),
    ("CC_", "Credit card"),
)
_SUFFIXES = (
    ("_MEAN", "mean"),
    ("_MAX", "max"),
    ("_MIN", "min"),
    ("_SUM", "total"),
    ("_COUNT", "count"),
    ("_SHARE", "share"),
    ("_AVG", "building average"),
    ("_MEDI", "building median"),
    ("_MODE", "building mode"),
)
_WORDS = {
    "AMT": "amount",
    "CNT": "number of",
    "SK": "",
    "DPD": "days past due",
    "DEF": "default",
    "HC": "Home Credit",
    "CC": "credit card",
}


def feature_label(feature: str) -> str:
    """Short readable label of a model feature (``BUREAU_DAYS_CREDIT_MEAN`` -> readable)."""
    if feature in FEATURE_LABELS:
        return FEATURE_LABELS[feature]
    prefix, rest = "", feature
    for start, label in _PREFIXES:
        if feature.startswith(start):
            prefix, rest = f"{label}: ", feature[len(start) :]
            break
    suffix = ""
    for end, label in _SUFFIXES:
        if rest.endswith(end) and len(rest) > len(end):
            suffix, rest = f" ({label})", rest[: -len(end)]
            break
    words = [_WORDS.get(word, word.lower()) for word in rest.split("_")]
    text = " ".join(word for word in words if word) or feature
    return f"{prefix}{text}{suffix}" if prefix else f"{text[0].upper()}{text[1:]}{suffix}"


def format_value(feature: str, value: Any) -> str:
    """A feature value in the officer's words: years for day counts, amounts with separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, str):
        return value
    number = float(value)
    if feature == "DAYS_EMPLOYED" and number == DAYS_EMPLOYED_ANOMALY:
        return "not employed"
    if feature == "DAYS_BIRTH":
        return f"{-number / DAYS_PER_YEAR:.0f} years"
    if feature == "DAYS_EMPLOYED":
        return f"{-number / DAYS_PER_YEAR:.1f} years"
    if re.search(r"(^|_)DAYS(_|$)", feature):
        return _days_ago(number)
    if feature.endswith(("_RATIO", "_PROD", "_STD", "_MEAN_RATIO")) or "EXT_SOURCE" in feature:
        return f"{number:.3g}"
    if re.search(r"(^|_)AMT(_|$)|INCOME|_DIFF$|DEBT", feature):
        return format_amount(number)
    if feature.endswith("_YEARS"):
        return f"{number:.1f} years"
    if feature.endswith("_SHARE"):
        return format_percent(number)
    if feature.startswith("FLAG_") or feature == "DAYS_EMPLOYED_ANOMALY":
        return "yes" if number == 1 else "no" if number == 0 else f"{number:g}"
    return _short_number(number)


def _days_ago(days: float) -> str:
    """``-800`` -> ``2.2 years ago``, ``-40`` -> ``40 days ago``, positive -> ``in N days``."""
    span = abs(days)
    text = f"{span / DAYS_PER_YEAR:.1f} years" if span >= DAYS_PER_YEAR else f"{span:.0f} days"
    return f"{text} ago" if days <= 0 else f"in {text}"


def _short_number(number: float) -> str:
    if number == int(number) and abs(number) < 1e6:
        return f"{int(number)}"
    if abs(number) >= 1000:
        return format_amount(number)
    return f"{number:.3g}"


def format_amount(amount: float) -> str:
    """An amount with thousands separators and no decimals (``1 234 567``)."""
    return f"{amount:,.0f}".replace(",", "\u202f")


def format_percent(probability: float, digits: int = 1) -> str:
    """A probability as a percentage (``0.1234`` -> ``12.3 %``)."""
    return f"{probability * 100:.{digits}f} %"


def decision_text(decision: str) -> str:
    """The decision in words (English — French)."""
    return DECISIONS.get(decision, decision.capitalize())


def reason_label(reason: Reason) -> str:
    """``label = value`` of one contribution."""
    return f"{feature_label(reason.feature)} = {format_value(reason.feature, reason.value)}"


def reason_sentence(reason: Reason) -> str:
    """One explanation line: arrow and direction in words, then the feature and its value."""
    direction = RAISES if reason.raises_risk else LOWERS
    return f"{direction}: {reason_label(reason)}"


def _layout(fig: go.Figure, height: int, **kwargs: Any) -> go.Figure:
    layout = {
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "font": FONT,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    fig.update_layout(height=height, **{**layout, **kwargs})
    return fig


def gauge_figure(probability: float, threshold: float) -> go.Figure:
    """Gauge of the probability of default (%), green below the threshold, red above it."""
    refused = probability >= threshold
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=probability * 100,
            number={
                "suffix": " %",
                "valueformat": ".1f",
                "font": {"color": RED if refused else GREEN},
            },
            title={"text": f"Probability of default · threshold {format_percent(threshold)}"},
            gauge={
                "axis": {"range": [0, 100], "ticksuffix": " %", "tickcolor": INK},
                "bar": {"color": INK, "thickness": 0.3},
                "steps": [
                    {"range": [0, threshold * 100], "color": LIGHT_GREEN},
                    {"range": [threshold * 100, 100], "color": LIGHT_RED},
                ],
                "threshold": {
                    "line": {"color": INK, "width": 4},
                    "thickness": 0.9,
                    "value": threshold * 100,
                },
            },
        )
    )
    return _layout(fig, 240, margin={"l": 30, "r": 30, "t": 50, "b": 10})


def contributions_figure(reasons: Sequence[Reason], units: str | None = None) -> go.Figure:
    """Horizontal bars of the SHAP contributions, largest on top: red ▲ raises, green ▼ lowers."""
    ordered = sorted(reasons, key=lambda reason: abs(reason.contribution))
    fig = go.Figure()
    for raises, name, colour in ((True, RAISES, RED), (False, LOWERS, GREEN)):
        rows = [row for row, reason in enumerate(ordered) if reason.raises_risk == raises]
        arrow = name.split()[0]
        fig.add_bar(
            x=[ordered[row].contribution for row in rows],
            y=rows,
            orientation="h",
            name=name,
            marker_color=colour,
            text=[f"{arrow} {ordered[row].contribution:+.3f}" for row in rows],
            textposition="outside",
            textfont={"color": colour},
            cliponaxis=False,
            customdata=[reason_label(ordered[row]) for row in rows],
            hovertemplate="%{customdata}<br>contribution %{x:+.4f}<extra>" + name + "</extra>",
        )
    fig.add_vline(x=0, line_color=INK, line_width=1)
    fig.update_yaxes(
        tickvals=list(range(len(ordered))),
        ticktext=[_tick_label(reason) for reason in ordered],
        tickfont={"color": INK},
        automargin=True,
    )
    fig.update_xaxes(
        title_text=f"Contribution to the risk ({units})" if units else "Contribution to the risk",
        zeroline=False,
        gridcolor="#e5e8ec",
        range=_padded_range([reason.contribution for reason in ordered]),
    )
    return _layout(
        fig,
        max(220, 34 * len(ordered) + 110),
        barmode="relative",
        bargap=0.25,
        legend={"orientation": "h", "x": 1, "xanchor": "right", "yanchor": "bottom", "y": 1.0},
        margin={"l": 10, "r": 20, "t": 30, "b": 10},
    )


def _tick_label(reason: Reason, width: int = 34) -> str:
    """``label = value`` on one line, or on two (shortened) when it is long."""
    text = reason_label(reason)
    if len(text) <= width:
        return text
    label, value = feature_label(reason.feature), format_value(reason.feature, reason.value)
    return f"{_short(label, width)}<br>= {_short(value, width)}"


def _padded_range(values: Sequence[float]) -> list[float]:
    """An axis range holding 0 and ``values``, with room for the bar labels on both ends."""
    low, high = min([0.0, *values]), max([0.0, *values])
    pad = 0.45 * (max(-low, high) or 1.0)
    return [low - (pad if low < 0 else 0.1 * pad), high + (pad if high > 0 else 0.1 * pad)]


def population_share_below(distribution: Distribution, value: float) -> float | None:
    """Share of the population below ``value``, interpolated inside its histogram bin."""
    edges, counts = distribution.edges, distribution.counts
    total = sum(counts)
    if not total or len(edges) != len(counts) + 1:
        return None
    if value <= edges[0]:
        return 0.0
    if value >= edges[-1]:
        return 1.0
    index = bisect.bisect_right(edges, value) - 1
    width = edges[index + 1] - edges[index]
    inside = (value - edges[index]) / width if width > 0 else 1.0
    return (sum(counts[:index]) + inside * counts[index]) / total


def bin_default_rate(distribution: Distribution, value: float) -> float | None:
    """Default rate of the histogram bin of ``value`` (the end bins hold the tails)."""
    edges, rates = distribution.edges, distribution.default_rate_by_bin
    if len(edges) < 2 or len(rates) != len(edges) - 1:
        return None
    index = min(max(bisect.bisect_right(edges, value) - 1, 0), len(rates) - 1)
    return rates[index]


def overall_default_rate(distribution: Distribution) -> float | None:
    """Default rate of the population: the API's, else weighted over the bins."""
    if distribution.default_rate is not None:
        return distribution.default_rate
    pairs = [
        (rate, count)
        for rate, count in zip(distribution.default_rate_by_bin, distribution.counts, strict=False)
        if rate is not None and count
    ]
    total = sum(count for _, count in pairs)
    return sum(rate * count for rate, count in pairs) / total if total else None


def _compared(rate: float | None, overall: float | None, who: str) -> str | None:
    """``default rate of <who> X (all clients: Y)``."""
    if rate is None:
        return None
    compared = f" (all clients: {format_percent(overall)})" if overall is not None else ""
    return f"default rate of {who} {format_percent(rate)}{compared}"


def position_sentence(distribution: Distribution, value: Any) -> str:
    """Where the client stands in the population, in words."""
    label, overall = feature_label(distribution.feature), overall_default_rate(distribution)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        parts = [f"{label}: missing for this client"]
        parts.append(_compared(distribution.missing_default_rate, overall, "clients without it"))
    elif distribution.categorical or isinstance(value, str):
        count = distribution.categories.get(str(value))
        total = sum(distribution.categories.values())
        parts = [f"{label} = {value}"]
        if count is not None and total:
            parts.append(f"{100 * count / total:.0f} % of clients")
        rate = distribution.default_rate_by_category.get(str(value))
        parts.append(_compared(rate, overall, "these clients"))
    else:
        share = population_share_below(distribution, float(value))
        if share is not None and axis_scale(distribution.feature)[0] < 0:
            share = 1 - share  # days before the application: fewer days back is less
        parts = [f"{label} = {format_value(distribution.feature, value)}"]
        if share is not None:
            parts.append(f"higher than {share * 100:.0f} % of clients")
        rate = bin_default_rate(distribution, float(value))
        parts.append(_compared(rate, overall, "similar clients"))
    return "; ".join(part for part in parts if part) + "."


def population_figure(distribution: Distribution, value: Any) -> go.Figure:
    """The population (histogram or categories), its default rate, the client marked."""
    if distribution.categorical:
        fig = _categories_figure(distribution, value)
    else:
        fig = _histogram_figure(distribution, value)
    unit = axis_scale(distribution.feature)[1]
    title = feature_label(distribution.feature) + (f" ({unit})" if unit else "")
    fig.update_xaxes(title_text=title, gridcolor="#e5e8ec", automargin=True)
    return _layout(
        fig,
        300,
        yaxis={"title": {"text": "Clients (%)"}, "gridcolor": "#e5e8ec", "rangemode": "tozero"},
        yaxis2={
            "title": {"text": "Default rate (%)", "font": {"color": ORANGE}},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickfont": {"color": ORANGE},
            "tickformat": ".0f",
        },
        showlegend=False,
        bargap=0 if not distribution.categorical else 0.2,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )


def _rate_trace(fig: go.Figure, x: list[Any], rates: list[float | None]) -> None:
    fig.add_scatter(
        x=x,
        y=[None if rate is None else 100 * rate for rate in rates],
        name="Default rate (%)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": ORANGE, "width": 2},
        marker={"symbol": "diamond", "size": 7},
        hovertemplate="%{x}: %{y:.1f} % default<extra></extra>",
    )


def axis_scale(feature: str) -> tuple[float, str]:
    """Factor and unit turning a feature into officer units on a chart axis (days -> years)."""
    if feature in ("DAYS_BIRTH", "DAYS_EMPLOYED"):
        return -1 / DAYS_PER_YEAR, "years"
    if re.search(r"(^|_)DAYS(_|$)", feature):
        return -1 / DAYS_PER_YEAR, "years ago"
    return 1.0, ""


def _histogram_figure(distribution: Distribution, value: Any) -> go.Figure:
    factor = axis_scale(distribution.feature)[0]
    edges = [edge * factor for edge in distribution.edges]
    counts = distribution.counts
    centres = [(low + high) / 2 for low, high in zip(edges[:-1], edges[1:], strict=False)]
    widths = [abs(high - low) for low, high in zip(edges[:-1], edges[1:], strict=False)]
    total = sum(counts) or 1
    fig = go.Figure()
    fig.add_bar(
        x=centres,
        y=[100 * count / total for count in counts],
        width=widths,
        name="Clients (%)",
        marker={"color": "#aab7c4", "line": {"color": "white", "width": 1}},
        hovertemplate="%{x:.4g}: %{y:.1f} % of clients<extra></extra>",
    )
    rates = distribution.default_rate_by_bin
    if rates and len(rates) == len(centres):
        _rate_trace(fig, centres, rates)
    _mark_quartiles(fig, distribution, factor)
    if isinstance(value, int | float) and not math.isnan(value):
        fig.add_vline(
            x=float(value) * factor,
            line={"color": INK, "width": 3, "dash": "dash"},
            annotation_text=f"Client: {format_value(distribution.feature, value)}",
            annotation_position="top",
            annotation_font={"color": INK, "size": 12},
        )
    return fig


def _short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else f"{text[: width - 1]}…"


def _categories_figure(distribution: Distribution, value: Any) -> go.Figure:
    names = list(distribution.categories)
    total = sum(distribution.categories.values()) or 1
    client = str(value) if value is not None else None
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[100 * distribution.categories[name] / total for name in names],
        name="Clients (%)",
        marker={"color": [INK if name == client else "#aab7c4" for name in names]},
        hovertemplate="%{x}: %{y:.1f} % of clients<extra></extra>",
    )
    _rate_trace(fig, names, [distribution.default_rate_by_category.get(name) for name in names])
    ticks = [f"<b>● {_short(name)}</b>" if name == client else _short(name) for name in names]
    fig.update_xaxes(tickvals=names, ticktext=ticks, tickangle=-30)
    return fig


def _mark_quartiles(fig: go.Figure, distribution: Distribution, factor: float = 1.0) -> None:
    """Shade the middle half of the population (25th to 75th percentile)."""
    low, high = distribution.quantiles.get(0.25), distribution.quantiles.get(0.75)
    if low is not None and high is not None and high > low:
        fig.add_vrect(
            x0=low * factor, x1=high * factor, fillcolor="#5d6d7e", opacity=0.08, line_width=0
        )
