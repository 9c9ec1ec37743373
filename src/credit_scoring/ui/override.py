"""The officer's override beside a decision: overrule it with a reason, see the record."""

from __future__ import annotations

import streamlit as st

from credit_scoring.modeling.decision import GRANTED, REFUSED
from credit_scoring.ui import charts
from credit_scoring.ui.client import (
    OFFICER_KEY_ENV,
    ApiError,
    ApiValidationError,
    CreditApiClient,
    Prediction,
    UiSettings,
)

REASONS = {
    "income_verified": "Income verified on documents",
    "collateral_or_guarantor": "Collateral or guarantor",
    "existing_client_relationship": "Known client, good repayment record",
    "data_error": "Error in the application data",
    "affordability_concern": "Affordability concern",
    "fraud_suspicion": "Fraud suspicion",
    "policy_exception": "Policy exception",
    "other": "Other (say why in the comment)",
}


def show_override(settings: UiSettings, prediction: Prediction) -> None:
    """An expander to overrule ``prediction`` (needs ``CREDIT_UI_OFFICER_KEY``) and the result."""
    if not prediction.request_id:
        return
    opposite = REFUSED if prediction.granted else GRANTED
    done = st.session_state.get(f"override-{prediction.request_id}")
    with st.expander("Override this decision", icon=":material/gavel:", expanded=bool(done)):
        if done:
            st.success(
                f"Overridden: {charts.decision_text(done['decision_before'])} → "
                f"{charts.decision_text(done['decision'])} by {done['officer_id']} "
                f"({REASONS.get(done['reason'], done['reason'])}). Recorded beside the "
                f"decision {done['request_id']}; the decision itself is kept.",
                icon=":material/check_circle:",
            )
            return
        if not settings.officer_key:
            st.info(f"Overrides need an officer key: set {OFFICER_KEY_ENV}.")
            return
        st.caption(
            f"Overrule the model: the credit becomes **{charts.decision_text(opposite)}**. "
            "Your override is recorded with your id and reason, and counted per model version."
        )
        with st.form(f"override-form-{prediction.request_id}"):
            officer_id = st.text_input("Officer id", max_chars=64)
            reason = st.selectbox("Reason", list(REASONS), format_func=REASONS.__getitem__)
            comment = st.text_area("Comment", max_chars=2000)
            submitted = st.form_submit_button(f"Record: {charts.decision_text(opposite)}")
        if not submitted:
            return
        try:
            with CreditApiClient.from_settings(settings) as api:
                record = api.override(
                    prediction.request_id,
                    officer_key=settings.officer_key,
                    officer_id=officer_id.strip(),
                    decision=opposite,
                    reason=reason,
                    comment=comment,
                )
        except ApiValidationError as error:
            for problem in error.errors:
                st.error(str(problem), icon=":material/error:")
            return
        except ApiError as error:
            st.error(str(error), icon=":material/error:")
            return
        st.session_state[f"override-{prediction.request_id}"] = record
        st.rerun()
