"""Streamlit app for credit officers: pick or edit an application, score it, see why.

Run: ``streamlit run src/credit_scoring/ui/app.py`` with ``CREDIT_UI_API_URL`` (default
http://127.0.0.1:8000) and, when the API requires one, ``CREDIT_UI_API_KEY``.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from credit_scoring.data import schema
from credit_scoring.ui import charts
from credit_scoring.ui.client import (
    ApiAuthError,
    ApiError,
    ApiNotFound,
    ApiUnavailable,
    ApiValidationError,
    CreditApiClient,
    Distribution,
    Prediction,
    UiSettings,
)
from credit_scoring.ui.override import show_override
from credit_scoring.ui.traffic import show_traffic_drift
from credit_scoring.ui.what_if import show_what_if

logger = logging.getLogger(__name__)

CLIENT_LIMIT = 200
POPULATION_FEATURES = 3
CACHE_SECONDS = 300
RESULT_KEY = "result"
NEW = "new"
NEW_LABEL = "New application (blank form)"
FieldKind = Literal["amount", "count", "score", "age", "employed", "category"]

CSS = """
<style>
.block-container {padding-top: 2rem; padding-bottom: 2rem;}
.decision {border-radius: 0.6rem; padding: 0.9rem 1.2rem; margin: 0.2rem 0 0.8rem 0;
  font-size: 1.45rem; font-weight: 700; border: 2px solid;}
.decision small {display: block; font-size: 0.9rem; font-weight: 400; margin-top: 0.2rem;}
.decision.granted {background: #e8f5ec; color: #145a32; border-color: #1e8449;}
.decision.refused {background: #fbeae8; color: #7b241c; border-color: #c0392b;}
.reasons-head {font-weight: 700; margin-bottom: 0.2rem;}
.reasons-head.up {color: #a93226;}
.reasons-head.down {color: #196f3d;}
.reasons-list {margin: 0; padding-left: 1.1rem;}
[data-testid^="stBaseButton-primary"] {background-color: #1f4e79; border-color: #1f4e79;
  color: #ffffff;}
[data-testid^="stBaseButton-primary"]:hover {background-color: #163a5c; border-color: #163a5c;
  color: #ffffff;}
</style>
"""


@dataclass(frozen=True)
class Field:
    """One editable application column: its label, how it is shown and a help text."""

    column: str
    label: str
    kind: FieldKind
    help: str | None = None


FIELDS = (
    Field("AMT_INCOME_TOTAL", "Annual income", "amount"),
    Field("AMT_CREDIT", "Credit amount", "amount"),
    Field("AMT_ANNUITY", "Annuity", "amount", "Yearly repayment of the loan."),
    Field("AMT_GOODS_PRICE", "Goods price", "amount", "Price of the goods the loan pays for."),
    Field("DAYS_BIRTH", "Age (years)", "age"),
    Field("DAYS_EMPLOYED", "Years employed", "employed", "Empty: not employed or pensioner."),
    Field("CNT_CHILDREN", "Children", "count"),
    Field("CNT_FAM_MEMBERS", "Family members", "count"),
    Field("NAME_CONTRACT_TYPE", "Contract type", "category"),
    Field("NAME_INCOME_TYPE", "Income type", "category"),
    Field("NAME_EDUCATION_TYPE", "Education", "category"),
    Field("NAME_FAMILY_STATUS", "Family status", "category"),
    Field("CODE_GENDER", "Gender", "category"),
    Field("FLAG_OWN_REALTY", "Owns real estate", "category"),
    Field("EXT_SOURCE_1", "External score 1", "score", "Score from an external source, 0 to 1."),
    Field("EXT_SOURCE_2", "External score 2", "score", "Score from an external source, 0 to 1."),
    Field("EXT_SOURCE_3", "External score 3", "score", "Score from an external source, 0 to 1."),
)
LABELS = {field.column: field.label for field in FIELDS}
HISTORY_SOURCES = {"store": "on file", "request": "sent with the request", "none": "none on file"}
DAYS_NOTE = " (the API counts days before the application)"
DAY_FIELDS = {field.column for field in FIELDS if field.kind in ("age", "employed")}


# --------------------------------------------------------------------------------------------
# API calls (read-only ones cached per API address and key)
# --------------------------------------------------------------------------------------------


def _client(settings: UiSettings) -> CreditApiClient:
    return CreditApiClient.from_settings(settings)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_clients(settings: UiSettings, limit: int = CLIENT_LIMIT) -> list[int]:
    """The ids of the clients the API knows (``GET /clients``)."""
    with _client(settings) as api:
        return api.clients(limit=limit)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_application(settings: UiSettings, sk_id_curr: int) -> dict[str, Any]:
    """The raw application of one client (``GET /clients/{id}``)."""
    with _client(settings) as api:
        return api.client(sk_id_curr)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_distribution(settings: UiSettings, feature: str) -> Distribution | None:
    """The training distribution of one feature (``GET /population``); None if unknown."""
    with _client(settings) as api:
        try:
            return api.population([feature]).get(feature)
        except (ApiValidationError, ApiNotFound):
            return None


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_model(settings: UiSettings) -> dict[str, Any]:
    """The served model's card (``GET /model``)."""
    with _client(settings) as api:
        return api.model_info()


def score(settings: UiSettings, application: dict[str, Any]) -> Prediction:
    """Score one application (``POST /predict``, with what would grant it when refused), never
    cached."""
    with _client(settings) as api:
        return api.predict(application, counterfactual=True)


# --------------------------------------------------------------------------------------------
# The application form: raw values <-> widget values
# --------------------------------------------------------------------------------------------


def display_value(field: Field, raw: Any) -> Any:
    """The widget value of a raw application value (years for days, None for missing)."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    if field.kind == "category":
        return str(raw)
    if field.kind == "age":
        return round(-float(raw) / schema.DAYS_PER_YEAR, 1)
    if field.kind == "employed":
        if raw == schema.DAYS_EMPLOYED_ANOMALY:
            return None
        return round(-float(raw) / schema.DAYS_PER_YEAR, 1)
    if field.kind == "count":
        return int(raw)
    return float(raw)


def raw_value(field: Field, shown: Any) -> Any:
    """The raw application value of an edited widget value."""
    if field.kind == "employed" and shown is None:
        return schema.DAYS_EMPLOYED_ANOMALY
    if shown is None or field.kind in ("category", "count"):
        return shown
    if field.kind in ("age", "employed"):
        return -round(float(shown) * schema.DAYS_PER_YEAR)
    return float(shown)


def edited_application(raw: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with the fields whose widget value differs from the prefilled one replaced.

    An empty "years employed" means "not employed" even when the field was empty before.
    """
    application = dict(raw)
    for field in FIELDS:
        if field.column not in shown:
            continue
        value = shown[field.column]
        unset = field.kind == "employed" and value is None and raw.get(field.column) is None
        if unset or value != display_value(field, raw.get(field.column)):
            application[field.column] = raw_value(field, value)
    return application


def _categories(column: str, current: str | None) -> list[str]:
    options = schema.known_categories("application_train", column)
    return options + [current] if current is not None and current not in options else options


def field_widget(field: Field, raw: dict[str, Any], key: str) -> Any:
    """Render one form widget prefilled from ``raw``; return its value."""
    initial = display_value(field, raw.get(field.column))
    if field.kind == "category":
        options = _categories(field.column, initial)
        index = options.index(initial) if initial in options else None
        return st.selectbox(
            field.label, options, index=index, key=key, help=field.help, placeholder="missing"
        )
    steps = {"amount": (1000.0, "%.0f"), "age": (1.0, "%.1f"), "employed": (1.0, "%.1f")}
    common = {"key": key, "help": field.help, "placeholder": "missing"}
    if field.kind == "count":
        return st.number_input(field.label, value=initial, step=1, **common)
    if field.kind == "score":
        return st.number_input(field.label, 0.0, 1.0, initial, 0.01, "%.3f", **common)
    step, fmt = steps[field.kind]
    return st.number_input(field.label, value=initial, step=step, format=fmt, **common)


def application_form(raw: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The editable key fields of the application; the application to score once submitted."""
    title = "New application" if key == NEW else f"Application {key}"
    hint = (
        "fill in at least the amounts, age and years employed" if key == NEW else "edit any field"
    )
    with st.form(f"application-{key}", border=True):
        st.markdown(f"**{title}** · {hint}, then score")
        shown = {}
        columns = st.columns(2)
        for position, field in enumerate(FIELDS):
            with columns[position % 2]:
                shown[field.column] = field_widget(field, raw, f"{field.column}-{key}")
        submitted = st.form_submit_button("Score", type="primary", width="stretch")
    return edited_application(raw, shown) if submitted else None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def show_error(error: ApiError) -> None:
    """The API failure as an error box; a 422 lists each field (officer label) and reason."""
    if isinstance(error, ApiValidationError):
        lines = [
            f"- **{LABELS.get(item.field, charts.feature_label(item.field))}** "
            f"(`{item.field or 'request'}`): {item.message}"
            f"{DAYS_NOTE if item.field in DAY_FIELDS else ''}"
            for item in error.errors
        ]
        st.error(
            "The API rejected this application:\n\n" + "\n".join(lines), icon=":material/warning:"
        )
    elif isinstance(error, ApiUnavailable):
        st.error(str(error), icon=":material/cloud_off:")
    elif isinstance(error, ApiAuthError):
        st.error(str(error), icon=":material/lock:")
    else:
        st.error(str(error), icon=":material/error:")


def show_decision(prediction: Prediction) -> None:
    """Decision banner, probability and threshold metrics, gauge."""
    css = "granted" if prediction.granted else "refused"
    symbol = "✔" if prediction.granted else "✖"
    detail = (
        "Probability of default below the threshold."
        if prediction.granted
        else "Probability of default at or above the threshold."
    )
    st.markdown(
        f'<div class="decision {css}" role="status">{symbol} '
        f"{charts.decision_text(prediction.decision)}<small>{detail}</small></div>",
        unsafe_allow_html=True,
    )
    gap = (prediction.probability - prediction.threshold) * 100
    left, right = st.columns(2)
    left.metric(
        "Probability of default",
        charts.format_percent(prediction.probability),
        delta=f"{gap:+.1f} pts vs threshold",
        delta_color="inverse",
        border=True,
    )
    right.metric("Threshold", charts.format_percent(prediction.threshold), border=True)
    st.plotly_chart(
        charts.gauge_figure(prediction.probability, prediction.threshold),
        config={"displayModeBar": False},
    )


def show_explanation(prediction: Prediction) -> None:
    """Top SHAP contributions as bars and as sentences."""
    st.subheader("Why this decision")
    if not prediction.reasons:
        st.info("The API returned no explanation for this score.")
        return
    st.plotly_chart(
        charts.contributions_figure(prediction.reasons, prediction.units),
        config={"displayModeBar": False},
    )
    raising = [reason for reason in prediction.reasons if reason.raises_risk]
    lowering = [reason for reason in prediction.reasons if not reason.raises_risk]
    for column, css, title, group in zip(
        st.columns(2),
        ("up", "down"),
        ("▲ Raises the risk", "▼ Lowers the risk"),
        (raising, lowering),
        strict=True,
    ):
        items = "".join(
            f"<li>{html.escape(charts.reason_label(r), quote=False)}</li>" for r in group
        )
        column.markdown(
            f'<div class="reasons-head {css}">{title}</div>'
            f'<ul class="reasons-list">{items or "<li>none among the top reasons</li>"}</ul>',
            unsafe_allow_html=True,
        )


def top_features(prediction: Prediction, count: int) -> list[tuple[str, Any]]:
    """The features of the ``count`` largest contributions and the client's values."""
    return [(reason.feature, reason.value) for reason in prediction.reasons[:count]]


def show_population(settings: UiSettings, prediction: Prediction) -> None:
    """The client against the training population on the top features."""
    st.subheader("Compared with past clients")
    features = top_features(prediction, POPULATION_FEATURES)
    if not features:
        st.info("No explanation, so no feature to compare.")
        return
    try:
        population = {name: fetch_distribution(settings, name) for name, _ in features}
    except ApiError as error:
        show_error(error)
        return
    columns = st.columns(len(features), gap="medium")
    for column, (feature, value) in zip(columns, features, strict=True):
        with column:
            distribution = population[feature]
            if distribution is None or not (distribution.counts or distribution.categories):
                st.caption(f"{charts.feature_label(feature)}: no population data.")
                continue
            st.plotly_chart(
                charts.population_figure(distribution, value), config={"displayModeBar": False}
            )
            st.caption(charts.position_sentence(distribution, value))
    st.caption(
        "Grey bars: share of past clients per value · orange: their default rate · "
        "dashed line or dark bar: this client · shaded: the middle 50 % of clients."
    )


def model_caption(prediction: Prediction) -> str:
    """Which model answered, and where the client's history came from."""
    model = prediction.model
    parts = [
        f"Model {model.get('name', '?')} v{model.get('version', '?')} ({model.get('family', '?')})"
    ]
    if prediction.history_source:
        source = HISTORY_SOURCES.get(prediction.history_source, prediction.history_source)
        parts.append(f"credit history: {source}")
    if prediction.request_id:
        parts.append(f"request {prediction.request_id}")
    return " · ".join(parts)


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------


def sidebar(settings: UiSettings) -> None:
    """API address and the served model."""
    with st.sidebar:
        st.header("Scoring API")
        st.caption(f"`{settings.url}`")
        try:
            model = fetch_model(settings)
        except ApiError:
            st.caption("Status: unavailable")
            return
        st.caption("Status: connected")
        st.markdown(
            f"**Model** {model.get('name', '?')} v{model.get('version', '?')}  \n"
            f"**Family** {model.get('family', '?')}  \n"
            f"**Threshold** {charts.format_percent(float(model.get('threshold', 0.0)))}"
        )
        metrics = model.get("metrics") or {}
        auc = metrics.get("holdout_auc") or metrics.get("auc")
        if isinstance(auc, int | float):
            st.caption(f"Held-out AUC {auc:.3f}")
        st.divider()
        st.caption(
            "Refused when the probability of default reaches the threshold, chosen to "
            "minimise the business cost of wrong decisions."
        )


def pick_client(settings: UiSettings) -> int | str:
    """The client selectbox fed by ``GET /clients``: a client id, a typed id, or ``NEW``."""
    clients = fetch_clients(settings)
    return st.selectbox(
        "Client (SK_ID_CURR)",
        [NEW, *clients],
        index=1 if clients else 0,
        key="client",
        format_func=lambda option: NEW_LABEL if option == NEW else str(option),
        accept_new_options=True,
        help="Pick a client, type another SK_ID_CURR, or start a blank application.",
    )


def load_application(settings: UiSettings, choice: int | str) -> tuple[str, dict[str, Any]] | None:
    """The form key and raw application of the choice (``GET /clients/{id}``; blank for new)."""
    if choice == NEW:
        return NEW, {}
    try:
        sk_id_curr = int(str(choice).strip())
    except ValueError:
        st.error(f"{choice!r} is not a client number (SK_ID_CURR).", icon=":material/error:")
        return None
    return str(sk_id_curr), fetch_application(settings, sk_id_curr)


def main() -> None:
    """The page: in its first tab the client picker and form on the left, decision and
    explanation on the right; in its second the drift of the traffic."""
    st.set_page_config(
        page_title="Credit scoring", page_icon=":material/credit_score:", layout="wide"
    )
    st.markdown(CSS, unsafe_allow_html=True)
    settings = UiSettings.from_env()
    sidebar(settings)
    st.title("Credit scoring")
    decision_tab, drift_tab = st.tabs(["Credit decision", "Traffic drift"])
    for tab, show in ((decision_tab, run_page), (drift_tab, show_traffic_drift)):
        with tab:
            try:
                show(settings)
            except ApiError as error:
                show_error(error)
            except Exception as error:  # a broken page must still say what happened
                logger.exception("unexpected error in the credit app")
                st.error(
                    f"Unexpected error: {type(error).__name__}: {error}", icon=":material/error:"
                )


def run_page(settings: UiSettings) -> None:
    """Pick, edit, score and show the result of one client."""
    st.caption("Score an application, see why, compare with past clients.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        loaded = load_application(settings, pick_client(settings))
        if loaded is None:
            return
        key, raw = loaded
        application = application_form(raw, key)
    if application is not None:
        st.session_state.pop(RESULT_KEY, None)
        with right:
            try:
                with st.spinner("Scoring…"):
                    scored = score(settings, application)
                st.session_state[RESULT_KEY] = (key, scored, application)
            except ApiError as error:
                show_error(error)
                return
    result = st.session_state.get(RESULT_KEY)
    if result is None or result[0] != key:
        right.info("Pick a client, check the application, then press **Score**.")
        return
    _, prediction, scored_application = result
    with right:
        show_decision(prediction)
        st.caption(model_caption(prediction))
        for warning in prediction.warnings:
            st.warning(warning, icon=":material/info:")
        show_what_if(prediction, scored_application, lambda changed: score(settings, changed))
        show_override(settings, prediction)
        show_explanation(prediction)
    show_population(settings, prediction)


if __name__ == "__main__":
    main()
