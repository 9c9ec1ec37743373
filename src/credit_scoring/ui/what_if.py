"""What would change a refused decision: the API's options, and scoring one of them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from credit_scoring.ui import charts
from credit_scoring.ui.client import ApiError, Prediction

WAYS = {
    "lower_credit": "Borrow less",
    "cheaper_goods": "Cheaper goods",
    "longer_term": "Longer term",
    "lower_credit_longer_term": "Borrow less, longer term",
}
FIELDS = {"AMT_CREDIT": "Credit", "AMT_ANNUITY": "Annuity", "AMT_GOODS_PRICE": "Goods price"}


def options_table(options: list[dict[str, Any]], application: dict[str, Any]) -> pd.DataFrame:
    """One row per option: the way, each amount as asked → as suggested, the size of the change
    and the new probability of default."""
    rows = []
    for option in options:
        row = {"Way": WAYS.get(option["strategy"], option["strategy"])}
        for field, label in FIELDS.items():
            if field in option["changes"]:
                row[label] = f"{application[field]:,.0f} → {option['changes'][field]:,.0f}"
            else:
                row[label] = "unchanged" if application.get(field) is not None else "–"
        row["Change"] = f"{option['change']:.0%}"
        row["Probability of default"] = charts.format_percent(option["probability"])
        rows.append(row)
    return pd.DataFrame(rows)


def show_what_if(
    prediction: Prediction,
    application: dict[str, Any],
    rescore: Callable[[dict[str, Any]], Prediction],
) -> None:
    """Under a refused decision: the smallest changes of the loan's terms that grant it, and a
    button per option that scores the changed application (a new, logged decision)."""
    counterfactual = prediction.counterfactual
    if prediction.granted or not counterfactual:
        return
    st.subheader("What would change the decision")
    if not counterfactual["found"]:
        st.warning(counterfactual["message"], icon=":material/block:")
        return
    st.info(counterfactual["message"], icon=":material/lightbulb:")
    options = counterfactual["options"]
    st.dataframe(options_table(options, application), hide_index=True)
    st.caption("Only the loan's terms change; nothing about the applicant does.")
    for option in options:
        key = f"what-if-{prediction.request_id}-{option['strategy']}"
        label = f"Score with these terms: {WAYS.get(option['strategy'], option['strategy'])}"
        if st.button(label, key=key, icon=":material/refresh:"):
            try:
                st.session_state[f"{key}-result"] = rescore(application | option["changes"])
            except ApiError as error:
                st.error(str(error), icon=":material/error:")
        rescored = st.session_state.get(f"{key}-result")
        if rescored is not None:
            text = (
                f"{WAYS.get(option['strategy'])}: **{charts.decision_text(rescored.decision)}**, "
                f"probability of default {charts.format_percent(rescored.probability)} "
                f"(request {rescored.request_id})"
            )
            (st.success if rescored.granted else st.warning)(text)
