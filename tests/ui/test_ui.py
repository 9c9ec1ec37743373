"""The officer app: its API client and figures, then the app itself against a real API.

The app tests start the API (uvicorn) on the tiny pipeline run and drive the Streamlit script as
a user would: with ``AppTest`` and, when Chromium and Playwright are installed, in a real browser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import pytest

from credit_scoring.api.launch import free_port, run_environment, start_api
from credit_scoring.ui import app as ui_app
from credit_scoring.ui import charts
from credit_scoring.ui.app import NEW, NEW_LABEL
from credit_scoring.ui.client import (
    API_KEY_HEADER,
    ApiAuthError,
    ApiError,
    ApiNotFound,
    ApiUnavailable,
    ApiValidationError,
    CreditApiClient,
    Distribution,
    Prediction,
    Reason,
    UiSettings,
    field_name,
)
from tests.ui.conftest import (
    API_KEY,
    ROOT,
    failure_evidence,
    run_app,
    save_screenshot,
    streamlit_app,
    texts,
    wait_idle,
)

SCREENSHOT = ROOT / "reports" / "screenshots" / "ui_scored.png"
WHAT_IF_SCREENSHOT = SCREENSHOT.with_name("ui_what_if.png")
OFFICER_KEY = "officer-key"

PREDICTION = {
    "sk_id_curr": 100001,
    "probability": 0.62,
    "decision": "refused",
    "threshold": 0.5,
    "model": {"name": "credit-scoring", "version": "3", "family": "lightgbm", "source": "local"},
    "reasons": [
        {
            "feature": "EXT_SOURCE_MEAN",
            "value": 0.21,
            "contribution": 0.8,
            "direction": "raises risk",
        },
        {
            "feature": "CODE_GENDER",
            "value": "F",
            "contribution": -0.3,
            "direction": "lowers risk",
        },
        {
            "feature": "DAYS_BIRTH",
            "value": -12000.0,
            "contribution": 0.1,
            "direction": "raises risk",
        },
    ],
    "base_value": -1.9,
    "units": "log-odds",
    "history_source": "store",
    "request_id": "abc",
    "warnings": ["CODE_GENDER: unknown category 'X'"],
}
POPULATION = {
    "quantiles": {"0.05": 0.1, "0.25": 0.3, "0.5": 0.5, "0.75": 0.7, "0.95": 0.9},
    "histogram": {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "counts": [10, 30, 40, 20]},
    "default_rate_by_bin": [0.3, 0.1, 0.05, None],
}


# --------------------------------------------------------------------------------------------
# client.py
# --------------------------------------------------------------------------------------------


def mock_api(handler, api_key: str | None = "secret") -> CreditApiClient:
    """A client whose requests go to ``handler`` instead of the network."""
    return CreditApiClient(
        "http://api.test/", api_key=api_key, transport=httpx.MockTransport(handler)
    )


def json_response(status: int, body) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_predict_sends_key_and_clean_json_and_parses_answer():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(
            path=request.url.path,
            key=request.headers.get(API_KEY_HEADER),
            body=json.loads(request.content),
        )
        return json_response(200, PREDICTION)

    with mock_api(handler) as api:
        prediction = api.predict({"SK_ID_CURR": 100001, "EXT_SOURCE_1": math.nan, "X": 1.5})
    assert seen["path"] == "/predict" and seen["key"] == "secret"
    assert seen["body"] == {
        "application": {"SK_ID_CURR": 100001, "EXT_SOURCE_1": None, "X": 1.5},
        "history": None,
    }
    assert prediction.probability == 0.62 and not prediction.granted
    assert prediction.model["version"] == "3" and prediction.units == "log-odds"
    assert [r.raises_risk for r in prediction.reasons] == [True, False, True]
    assert prediction.warnings == ("CODE_GENDER: unknown category 'X'",)


def test_no_key_header_without_key():
    def handler(request: httpx.Request) -> httpx.Response:
        assert API_KEY_HEADER not in request.headers
        return json_response(200, {"status": "ok", "model_loaded": True, "model_version": "1"})

    with mock_api(handler, api_key=None) as api:
        assert api.health()["status"] == "ok"


def test_clients_client_and_population():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/clients":
            assert request.url.params["limit"] == "5"
            return json_response(200, [100001, 100005])
        if request.url.path == "/clients/100005":
            return json_response(200, {"SK_ID_CURR": 100005, "EXT_SOURCE_1": None})
        assert request.url.params["features"] == "EXT_SOURCE_MEAN,DAYS_BIRTH"
        return json_response(200, {"EXT_SOURCE_MEAN": POPULATION})

    with mock_api(handler) as api:
        assert api.clients(limit=5) == [100001, 100005]
        assert api.client(100005)["EXT_SOURCE_1"] is None
        population = api.population(["EXT_SOURCE_MEAN", "DAYS_BIRTH"])
        assert api.population([]) == {}
    distribution = population["EXT_SOURCE_MEAN"]
    assert set(population) == {"EXT_SOURCE_MEAN"}
    assert distribution.quantiles[0.5] == 0.5 and distribution.counts == [10, 30, 40, 20]
    assert distribution.default_rate_by_bin[-1] is None


def test_422_gives_each_field_and_reason():
    detail = [
        {
            "loc": ["body", "application", "AMT_INCOME_TOTAL"],
            "msg": "impossible value -1.0: must be within [0, inf]",
            "type": "impossible_value",
        },
        {"loc": ["body", "application", "NOPE"], "msg": "Extra inputs", "type": "extra"},
    ]
    with (
        mock_api(lambda request: json_response(422, {"detail": detail})) as api,
        pytest.raises(ApiValidationError) as caught,
    ):
        api.predict({"AMT_INCOME_TOTAL": -1.0})
    error = caught.value
    assert [e.field for e in error.errors] == ["AMT_INCOME_TOTAL", "NOPE"]
    assert "AMT_INCOME_TOTAL: impossible value -1.0" in str(error) and error.status == 422


def test_422_with_text_detail():
    with (
        mock_api(lambda request: json_response(422, {"detail": "bad history"})) as api,
        pytest.raises(ApiValidationError, match="bad history"),
    ):
        api.predict({})


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, ApiAuthError, "CREDIT_UI_API_KEY"),
        (403, ApiAuthError, "API key"),
        (404, ApiNotFound, "unknown client"),
        (500, ApiError, r"failed \(500\)"),
        (503, ApiError, r"not ready \(503\): unknown client"),
    ],
)
def test_http_errors_are_typed_with_the_api_message(status, kind, words):
    answer = json_response(status, {"detail": "unknown client"})
    with mock_api(lambda request: answer) as api, pytest.raises(kind, match=words) as caught:
        api.client(1)
    assert caught.value.status == status


def test_non_json_error_body_and_non_json_success():
    with mock_api(lambda request: httpx.Response(502, text="Bad gateway")) as api:
        with pytest.raises(ApiError, match="Bad gateway"):
            api.health()
    with mock_api(lambda request: httpx.Response(200, text="<html>")) as api:
        with pytest.raises(ApiError, match="not JSON"):
            api.health()


def test_timeout_is_unavailable():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with mock_api(handler) as api, pytest.raises(ApiUnavailable, match="API unreachable"):
        api.health()


def test_closed_port_is_unavailable():
    url = f"http://127.0.0.1:{free_port()}"
    with CreditApiClient(url, timeout=2) as api, pytest.raises(ApiUnavailable) as caught:
        api.clients()
    assert "API unreachable" in str(caught.value) and url in str(caught.value)


def test_settings_from_env():
    settings = UiSettings.from_env(
        {"CREDIT_UI_API_URL": "http://h:1/", "CREDIT_UI_API_KEY": "k", "CREDIT_UI_TIMEOUT": "5"}
    )
    assert settings == UiSettings("http://h:1", "k", 5.0)
    assert UiSettings.from_env({}) == UiSettings("http://127.0.0.1:8000", None, 30.0)


def test_field_name_drops_location_prefixes():
    assert field_name(("body", "application", "DAYS_BIRTH")) == "DAYS_BIRTH"
    assert field_name(("body", "history", "bureau", 0, "DAYS_CREDIT")) == "bureau.0.DAYS_CREDIT"
    assert field_name(()) == ""


# --------------------------------------------------------------------------------------------
# charts.py
# --------------------------------------------------------------------------------------------


def test_labels_and_values_are_readable():
    assert charts.feature_label("EXT_SOURCE_MEAN") == "External scores (mean)"
    assert charts.feature_label("BUREAU_DAYS_CREDIT_MEAN") == "Other lenders: days credit (mean)"
    assert charts.feature_label("SOMETHING_NEW") == "Something new"
    assert charts.format_value("DAYS_BIRTH", -12000) == "33 years"
    assert charts.format_value("DAYS_EMPLOYED", 365243) == "not employed"
    assert charts.format_value("DAYS_ID_PUBLISH", -40) == "40 days ago"
    assert charts.format_value("AMT_CREDIT", 568800.0) == "568\u202f800"
    assert charts.format_value("INST_LATE_SHARE", 0.25) == "25.0 %"
    assert charts.format_value("FLAG_EMAIL", 1.0) == "yes"
    assert charts.format_value("EXT_SOURCE_2", 0.123456) == "0.123"
    assert charts.format_value("X", None) == "missing"
    assert charts.format_percent(0.1234) == "12.3 %"
    assert charts.decision_text("granted").startswith("Granted")
    assert charts.decision_text("refused").startswith("Refused")


def test_reason_sentences_say_the_direction_in_words():
    prediction = Prediction.from_json(PREDICTION)
    sentences = [charts.reason_sentence(reason) for reason in prediction.reasons]
    assert sentences[0] == "▲ raises risk: External scores (mean) = 0.21"
    assert sentences[1] == "▼ lowers risk: Gender = F"


def test_gauge_marks_the_threshold():
    fig = charts.gauge_figure(0.62, 0.5)
    indicator = fig.data[0]
    assert indicator.value == pytest.approx(62.0)
    assert indicator.gauge.threshold.value == pytest.approx(50.0)
    assert [step.range for step in indicator.gauge.steps] == [(0, 50.0), (50.0, 100)]


def test_contributions_are_red_up_green_down_largest_on_top():
    reasons = Prediction.from_json(PREDICTION).reasons
    fig = charts.contributions_figure(reasons, "log-odds")
    raises, lowers = fig.data
    assert raises.marker.color == charts.RED and lowers.marker.color == charts.GREEN
    assert raises.name == charts.RAISES and lowers.name == charts.LOWERS
    assert list(raises.x) == [0.1, 0.8] and list(lowers.x) == [-0.3]
    assert list(raises.y) == [0, 2] and list(lowers.y) == [1]
    assert list(raises.text) == ["▲ +0.100", "▲ +0.800"] and list(lowers.text) == ["▼ -0.300"]
    labels = list(fig.layout.yaxis.ticktext)
    assert labels[-1] == charts.reason_label(reasons[0])  # the largest on top (last row)
    low, high = fig.layout.xaxis.range
    assert low < -0.3 and high > 0.8
    long = Reason("PREV_AMT_APPLICATION_MEAN", 333853.0, 0.1, "raises risk")
    label = list(charts.contributions_figure([long]).layout.yaxis.ticktext)[0]
    assert label == "Past applications: amount applica…<br>= 333\u202f853"
    assert "log-odds" in fig.layout.xaxis.title.text


def test_population_position_and_figure():
    distribution = Distribution.from_json("EXT_SOURCE_MEAN", POPULATION)
    assert charts.population_share_below(distribution, 0.5) == pytest.approx(0.4)
    assert charts.population_share_below(distribution, -1) == 0.0
    assert charts.population_share_below(distribution, 2) == 1.0
    assert charts.bin_default_rate(distribution, 0.1) == 0.3
    assert charts.bin_default_rate(distribution, 1.0) is None  # last bin has no rate
    assert charts.overall_default_rate(distribution) == pytest.approx((3 + 3 + 2) / 80)
    sentence = charts.position_sentence(distribution, 0.1)
    assert "higher than 4 % of clients" in sentence and "30.0 %" in sentence
    assert charts.position_sentence(distribution, None).endswith("missing for this client.")
    fig = charts.population_figure(distribution, 0.1)
    bars, rates = fig.data
    assert sum(bars.y) == pytest.approx(100) and list(rates.y)[:2] == [30.0, 10.0]
    assert any(shape.x0 == 0.1 for shape in fig.layout.shapes)
    assert any("Client" in note.text for note in fig.layout.annotations)


def test_day_features_are_drawn_in_years():
    days = {
        "quantiles": {"0.25": -20000.0, "0.75": -10000.0},
        "histogram": {"edges": [-25000.0, -15000.0, -5000.0], "counts": [1, 3]},
        "default_rate_by_bin": [0.1, 0.2],
    }
    fig = charts.population_figure(Distribution.from_json("DAYS_BIRTH", days), -14610.0)
    assert list(fig.data[0].x) == pytest.approx([20000 / 365.25, 10000 / 365.25])
    assert fig.layout.shapes[-1].x0 == pytest.approx(40.0)  # the client line, in years
    assert fig.layout.xaxis.title.text == "Age (years)"
    sentence = charts.position_sentence(Distribution.from_json("DAYS_BIRTH", days), -14610.0)
    assert sentence.startswith("Age = 40 years; higher than 72 % of clients")  # 28 % are older
    assert charts.axis_scale("BUREAU_DAYS_CREDIT_MEAN") == (-1 / 365.25, "years ago")


def test_population_without_data_is_not_an_error():
    empty = Distribution("X", {}, [], [])
    assert charts.population_share_below(empty, 1.0) is None
    assert charts.overall_default_rate(empty) is None
    assert charts.position_sentence(empty, 1.0) == "X = 1."
    assert len(charts.population_figure(empty, 1.0).data) == 1
    assert Reason("X", 1.0, 0.0, "lowers risk").raises_risk is False


def test_categorical_population_marks_the_clients_category():
    entry = {
        "kind": "categorical",
        "count": 100,
        "missing": 5,
        "default_rate": 0.08,
        "missing_default_rate": 0.2,
        "categories": {"Working": 60, "Pensioner": 40},
        "default_rate_by_category": {"Working": 0.1, "Pensioner": 0.05},
    }
    distribution = Distribution.from_json("NAME_INCOME_TYPE", entry)
    assert distribution.categorical and distribution.missing == 5
    sentence = charts.position_sentence(distribution, "Pensioner")
    assert sentence == (
        "Income type = Pensioner; 40 % of clients; "
        "default rate of these clients 5.0 % (all clients: 8.0 %)."
    )
    missing = charts.position_sentence(distribution, None)
    assert missing.startswith("Income type: missing") and "20.0 %" in missing
    bars, rates = charts.population_figure(distribution, "Pensioner").data
    assert list(bars.marker.color) == ["#aab7c4", charts.INK] and list(rates.y) == [10.0, 5.0]


# --------------------------------------------------------------------------------------------
# app.py: the form keeps untouched values exactly
# --------------------------------------------------------------------------------------------


def test_form_changes_only_the_edited_fields():
    raw = {
        "SK_ID_CURR": 1,
        "AMT_INCOME_TOTAL": 135000.0,
        "DAYS_BIRTH": -19241,
        "DAYS_EMPLOYED": 365243,
        "CNT_CHILDREN": 0,
        "EXT_SOURCE_1": None,
        "CODE_GENDER": "F",
    }
    fields = {field.column: field for field in ui_app.FIELDS}
    shown = {
        column: ui_app.display_value(fields[column], raw[column]) for column in fields.keys() & raw
    }
    assert shown["DAYS_BIRTH"] == 52.7 and shown["DAYS_EMPLOYED"] is None
    assert ui_app.edited_application(raw, shown) == raw
    shown.update(DAYS_BIRTH=30.0, DAYS_EMPLOYED=2.0, EXT_SOURCE_1=0.5, CODE_GENDER="M")
    edited = ui_app.edited_application(raw, shown)
    assert edited["DAYS_BIRTH"] == -round(30 * 365.25) and edited["DAYS_EMPLOYED"] == -730
    assert edited["EXT_SOURCE_1"] == 0.5 and edited["CODE_GENDER"] == "M"
    assert edited["AMT_INCOME_TOTAL"] == 135000.0
    blank = ui_app.edited_application({}, dict.fromkeys(fields))
    assert blank == {"DAYS_EMPLOYED": 365243}  # empty years employed: not employed


# --------------------------------------------------------------------------------------------
# The app against a real API on the tiny pipeline run
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_url(tiny_project, tmp_path_factory) -> Iterator[str]:
    """The scoring API (uvicorn subprocess) serving the tiny run's champion, key required."""
    logs = tmp_path_factory.mktemp("api")
    database_url = f"sqlite:///{logs / 'decisions.db'}"
    env = tiny_project.env | run_environment(
        tiny_project.root, database_url, API_KEY, tiny_project.tracking_uri
    )
    env["CREDIT_API_OFFICER_KEYS"] = OFFICER_KEY
    server = start_api(env, tiny_project.root, logs / "api.log")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def api(api_url) -> Iterator[CreditApiClient]:
    with CreditApiClient(api_url, api_key=API_KEY) as client:
        yield client


def number_input(app, label: str):
    return next(widget for widget in app.number_input if widget.label == label)


@pytest.mark.slow
def test_scoring_a_picked_client_shows_the_api_decision(monkeypatch, api_url, api):
    app = run_app(monkeypatch, api_url)
    assert not app.exception and not app.error
    clients = api.clients(limit=200)
    picked = clients[1]
    assert app.selectbox(key="client").options == [NEW_LABEL, *map(str, clients)]
    app.selectbox(key="client").select(picked).run()
    assert f"Application {picked}" in texts(app.markdown)  # the form of the picked client
    income = number_input(app, "Annual income").value
    assert income == pytest.approx(api.client(picked)["AMT_INCOME_TOTAL"])
    app.button[0].click().run()
    assert not app.exception and not app.error, texts(app.error)

    expected = api.predict(api.client(picked))
    shown = texts(app.markdown)
    assert charts.decision_text(expected.decision) in shown
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Probability of default"] == charts.format_percent(expected.probability)
    assert metrics["Threshold"] == charts.format_percent(expected.threshold)
    subheaders = texts(app.subheader)
    assert "Why this decision" in subheaders and "Compared with past clients" in subheaders
    assert charts.reason_label(expected.reasons[0]) in shown
    assert len(app.get("plotly_chart")) >= 3  # gauge, explanation, population
    assert "higher than" in texts(app.caption)


def scored_client(app, api):
    """Pick the second client of the list in ``app`` and score it."""
    picked = api.clients(limit=200)[1]
    app.selectbox(key="client").select(picked).run()
    app.button[0].click().run()
    assert not app.exception and not app.error, texts(app.error)
    return picked


@pytest.mark.slow
def test_an_officer_overrides_a_decision_and_it_is_recorded(monkeypatch, api_url, api):
    app = run_app(monkeypatch, api_url, officer_key=OFFICER_KEY)
    scored_client(app, api)
    expander = next(e for e in app.expander if e.label == "Override this decision")
    request_id = next(
        part.removeprefix("request ").strip()
        for part in texts(app.caption).replace("\n", " · ").split(" · ")
        if part.startswith("request ")
    )
    before = api.decision(request_id)
    assert before["overrides"] == [] and before["decision_in_force"] == before["decision"]
    opposite = "refused" if before["decision"] == "granted" else "granted"

    # "other" without a comment: the API's reason is shown, nothing is recorded
    expander.text_input[0].input("officer.7")
    expander.selectbox[0].select("other")
    expander.button[0].click().run()
    assert "comment" in texts(app.error) and api.decision(request_id)["overrides"] == []

    expander = next(e for e in app.expander if e.label == "Override this decision")
    expander.text_input[0].input("officer.7")
    expander.selectbox[0].select("income_verified")
    expander.text_area[0].input("payslips checked")
    expander.button[0].click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert "Overridden:" in texts(app.success) and "officer.7" in texts(app.success)
    after = api.decision(request_id)
    assert after["decision"] == before["decision"]  # the decision itself is kept
    assert after["decision_in_force"] == opposite
    [record] = after["overrides"]
    assert (record["officer_id"], record["reason"], record["comment"]) == (
        "officer.7", "income_verified", "payslips checked",
    )  # fmt: skip
    assert record["decision_before"] == before["decision"]


def refused_client(api) -> int:
    """A client the model refuses and a change of the loan's terms would grant."""
    for sk_id_curr in api.clients(limit=200):
        prediction = api.predict(api.client(sk_id_curr), counterfactual=True)
        if not prediction.granted and prediction.counterfactual["found"]:
            return sk_id_curr
    raise AssertionError("no refused client with a counterfactual among the first 200")


@pytest.mark.slow
def test_what_would_change_a_refusal_and_scoring_it_grants(monkeypatch, api_url, api):
    app = run_app(monkeypatch, api_url)
    picked = refused_client(api)
    app.selectbox(key="client").select(picked).run()
    app.button[0].click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert "What would change the decision" in texts(app.subheader)
    expected = api.predict(api.client(picked), counterfactual=True).counterfactual
    assert expected["message"] in texts(app.info)
    table = app.dataframe[0].value
    assert len(table) == len(expected["options"])
    assert table["Probability of default"].tolist() == [
        charts.format_percent(option["probability"]) for option in expected["options"]
    ]
    button = next(b for b in app.button if b.label.startswith("Score with these terms"))
    button.click().run()
    assert not app.exception and not app.error, texts(app.error)
    assert "Granted" in texts(app.success), texts(app.success)


@pytest.mark.slow
def test_without_an_officer_key_the_app_says_how_to_override(monkeypatch, api_url, api):
    app = run_app(monkeypatch, api_url)
    scored_client(app, api)
    expander = next(e for e in app.expander if e.label == "Override this decision")
    assert "CREDIT_UI_OFFICER_KEY" in texts(expander.info)


@pytest.mark.slow
def test_a_new_application_is_scored(monkeypatch, api_url, api):
    app = run_app(monkeypatch, api_url)
    app.selectbox(key="client").select(NEW).run()
    assert "New application" in texts(app.markdown)
    entered = {
        "Annual income": 150_000.0,
        "Credit amount": 500_000.0,
        "Annuity": 25_000.0,
        "Age (years)": 40.0,
        "Years employed": 5.0,
    }
    for label, value in entered.items():
        number_input(app, label).set_value(value)
    app.button[0].click().run()
    assert not app.exception and not app.error, texts(app.error)
    expected = api.predict(
        {
            "AMT_INCOME_TOTAL": 150_000.0,
            "AMT_CREDIT": 500_000.0,
            "AMT_ANNUITY": 25_000.0,
            "DAYS_BIRTH": -round(40 * 365.25),
            "DAYS_EMPLOYED": -round(5 * 365.25),
        }
    )
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Probability of default"] == charts.format_percent(expected.probability)
    assert charts.decision_text(expected.decision) in texts(app.markdown)


def typed_client_numbers() -> None:
    """AppTest script: what the page shows for client numbers typed in the picker."""
    from credit_scoring.ui import app
    from credit_scoring.ui.client import ApiError, UiSettings

    for typed in ("999999999", "abc"):
        try:
            app.load_application(UiSettings.from_env(), typed)
        except ApiError as error:
            app.show_error(error)


@pytest.mark.slow
def test_typed_client_numbers_give_clear_errors(monkeypatch, api_url):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CREDIT_UI_API_URL", api_url)
    monkeypatch.setenv("CREDIT_UI_API_KEY", API_KEY)
    app = AppTest.from_function(typed_client_numbers, default_timeout=60).run()
    assert not app.exception
    errors = [error.value for error in app.error]
    assert "unknown client 999999999" in errors[0] and "not a client number" in errors[1]


@pytest.mark.slow
def test_impossible_value_shows_the_field_and_reason(monkeypatch, api_url):
    app = run_app(monkeypatch, api_url)
    number_input(app, "Annual income").set_value(-1000.0)
    app.button[0].click().run()
    assert not app.exception
    message = texts(app.error)
    assert "Annual income" in message and "AMT_INCOME_TOTAL" in message
    assert "impossible value" in message
    assert not app.metric


@pytest.mark.slow
def test_wrong_key_says_so(monkeypatch, api_url):
    app = run_app(monkeypatch, api_url, key="not-the-key")
    assert not app.exception
    assert "API key" in texts(app.error)


def test_api_down_is_a_clear_error(monkeypatch):
    app = run_app(monkeypatch, f"http://127.0.0.1:{free_port()}")
    assert not app.exception
    assert "API unreachable" in texts(app.error)
    assert not app.selectbox


# --------------------------------------------------------------------------------------------
# Headless Chromium
# --------------------------------------------------------------------------------------------


@pytest.fixture
def ui_url(api_url, tmp_path) -> Iterator[str]:
    """``streamlit run`` of the app against the API."""
    with streamlit_app(api_url, tmp_path) as url:
        yield url


def score_in_browser(page, url: str, first: int, picked: int, decision: str) -> None:
    """Open the app, pick ``picked`` (the list starts at ``first``), score, see ``decision``."""
    page.goto(url)
    page.get_by_text(f"Application {first}", exact=True).wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(str(picked))  # the list is virtualised: filter it down to the client
    page.get_by_role("option", name=str(picked), exact=True).click()
    page.get_by_text(f"Application {picked}", exact=True).wait_for(timeout=60_000)
    wait_idle(page)  # a click during a run can be lost
    page.get_by_role("button", name="Score", exact=True).click()
    page.get_by_text(decision).wait_for(timeout=60_000)
    page.get_by_text("Compared with past clients").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3")
    wait_idle(page)


@pytest.mark.slow
def test_screenshot_of_a_scored_client(browser, ui_url, api, tmp_path):
    first, picked = api.clients(limit=3)[::2]
    expected = api.predict(api.client(picked))
    decision = charts.decision_text(expected.decision)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    with failure_evidence(page, tmp_path):
        score_in_browser(page, ui_url, first, picked, decision)
    save_screenshot(page, tmp_path, SCREENSHOT)
    assert page.get_by_text(decision).is_visible()


@pytest.mark.slow
def test_screenshot_of_what_would_change_a_refusal(browser, ui_url, api, tmp_path):
    first, picked = api.clients(limit=1)[0], refused_client(api)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    with failure_evidence(page, tmp_path):
        score_in_browser(page, ui_url, first, picked, charts.decision_text("refused"))
        page.get_by_text("What would change the decision").wait_for(timeout=60_000)
        page.get_by_role("button", name="Score with these terms").first.click()
        page.get_by_text(charts.decision_text("granted")).wait_for(timeout=60_000)
        wait_idle(page)
    save_screenshot(page, tmp_path, WHAT_IF_SCREENSHOT)


def test_bare_host_port_url_gets_http_scheme():
    """Render's fromService hostport is a bare host:port."""
    assert CreditApiClient("api-host:8000").url == "http://api-host:8000"
    assert CreditApiClient("https://api.example/").url == "https://api.example"
