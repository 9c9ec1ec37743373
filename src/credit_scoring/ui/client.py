"""Typed HTTP client of the scoring API, with one exception class per kind of failure.

Every failure is raised as an :class:`ApiError` whose message is meant for the end user:
:class:`ApiUnavailable` (connection refused, DNS failure, timeout), :class:`ApiAuthError` (401 /
403), :class:`ApiValidationError` (422, with the field and reason of each problem),
:class:`ApiNotFound` (404) and plain :class:`ApiError` for any other answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from credit_scoring.modeling.decision import GRANTED

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 3.0
URL_ENV = "CREDIT_UI_API_URL"
KEY_ENV = "CREDIT_UI_API_KEY"
OFFICER_KEY_ENV = "CREDIT_UI_OFFICER_KEY"
OFFICER_KEY_HEADER = "X-Officer-Key"
TIMEOUT_ENV = "CREDIT_UI_TIMEOUT"
API_KEY_HEADER = "X-API-Key"
# Leading parts of a 422 ``loc`` that say where the field is, not which field it is.
_LOC_PREFIXES = ("body", "query", "path", "header", "application", "history")


class ApiError(Exception):
    """The API could not answer the request; ``str(error)`` is a message for the user."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiUnavailable(ApiError):
    """The API could not be reached: connection refused, unknown host or timeout."""


class ApiAuthError(ApiError):
    """The API refused the API key (401 or 403)."""


class ApiNotFound(ApiError):
    """The API does not know the requested resource (404)."""


@dataclass(frozen=True)
class FieldError:
    """One problem of a rejected request: the field (``loc`` without prefixes) and the reason."""

    field: str
    message: str
    loc: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ApiValidationError(ApiError):
    """The API rejected the request content (422); ``errors`` lists each field and reason."""

    def __init__(self, errors: list[FieldError]) -> None:
        details = "; ".join(str(error) for error in errors) or "no detail given"
        super().__init__(f"The API rejected the application (422): {details}", status=422)
        self.errors = errors


@dataclass(frozen=True)
class Reason:
    """One SHAP contribution of the local explanation."""

    feature: str
    value: float | str | None
    contribution: float
    direction: str

    @property
    def raises_risk(self) -> bool:
        return self.contribution > 0


@dataclass(frozen=True)
class Prediction:
    """The API's answer to ``POST /predict``."""

    sk_id_curr: int | None
    probability: float
    decision: str
    threshold: float
    model: dict[str, Any]
    reasons: list[Reason]
    base_value: float | None = None
    units: str | None = None
    history_source: str | None = None
    request_id: str | None = None
    warnings: tuple[str, ...] = ()
    counterfactual: dict[str, Any] | None = None

    @property
    def granted(self) -> bool:
        return self.decision == GRANTED

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        """Build from the JSON body of ``POST /predict``."""
        reasons = [
            Reason(
                feature=str(item["feature"]),
                value=item.get("value"),
                contribution=float(item["contribution"]),
                direction=str(item.get("direction", "")),
            )
            for item in data.get("reasons") or []
        ]
        return cls(
            sk_id_curr=_optional_int(data.get("sk_id_curr")),
            probability=float(data["probability"]),
            decision=str(data["decision"]),
            threshold=float(data["threshold"]),
            model=dict(data.get("model") or {}),
            reasons=reasons,
            base_value=_optional_float(data.get("base_value")),
            units=data.get("units"),
            history_source=data.get("history_source"),
            request_id=data.get("request_id"),
            warnings=tuple(str(warning) for warning in data.get("warnings") or ()),
            counterfactual=data.get("counterfactual"),
        )


@dataclass(frozen=True)
class Distribution:
    """A feature over the training population and its default rate.

    Numeric features (``kind == "numeric"``) have quantiles, a histogram and the default rate
    per bin; categorical ones the count and default rate per category.
    """

    feature: str
    quantiles: dict[float, float] = field(default_factory=dict)
    edges: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    default_rate_by_bin: list[float | None] = field(default_factory=list)
    kind: str = "numeric"
    default_rate: float | None = None
    missing: int = 0
    missing_default_rate: float | None = None
    categories: dict[str, int] = field(default_factory=dict)
    default_rate_by_category: dict[str, float] = field(default_factory=dict)

    @property
    def categorical(self) -> bool:
        return self.kind == "categorical"

    @classmethod
    def from_json(cls, feature: str, data: Mapping[str, Any]) -> Distribution:
        """Build from one entry of ``GET /population``."""
        histogram = data.get("histogram") or {}
        quantiles = {
            float(q): float(v) for q, v in (data.get("quantiles") or {}).items() if v is not None
        }
        rates = data.get("default_rate_by_category") or {}
        bin_rates = data.get("default_rate_by_bin") or []
        return cls(
            feature=feature,
            quantiles=dict(sorted(quantiles.items())),
            edges=[float(edge) for edge in histogram.get("edges") or []],
            counts=[int(count) for count in histogram.get("counts") or []],
            default_rate_by_bin=[_optional_float(rate) for rate in bin_rates],
            kind=str(data.get("kind") or ("categorical" if "categories" in data else "numeric")),
            default_rate=_optional_float(data.get("default_rate")),
            missing=int(data.get("missing") or 0),
            missing_default_rate=_optional_float(data.get("missing_default_rate")),
            categories={str(k): int(v) for k, v in (data.get("categories") or {}).items()},
            default_rate_by_category={str(k): float(v) for k, v in rates.items()},
        )


@dataclass(frozen=True)
class UiSettings:
    """Where the API is and how to authenticate, read from ``CREDIT_UI_*`` variables."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    officer_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UiSettings:
        """Read ``CREDIT_UI_API_URL``, ``CREDIT_UI_API_KEY``, ``CREDIT_UI_TIMEOUT`` and
        ``CREDIT_UI_OFFICER_KEY`` (the key that lets officers override decisions)."""
        env = os.environ if environ is None else environ
        return cls(
            url=(env.get(URL_ENV) or DEFAULT_URL).rstrip("/"),
            api_key=env.get(KEY_ENV) or None,
            timeout=float(env.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT),
            officer_key=env.get(OFFICER_KEY_ENV) or None,
        )


class CreditApiClient:
    """Synchronous client of the scoring API (one ``httpx.Client``; use as a context manager)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Render's fromService gives a bare host:port: assume http when no scheme is given.
        self.url = (url if "://" in url else f"http://{url}").rstrip("/")
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            transport=transport,
        )
        self._timeout = timeout

    @classmethod
    def from_settings(cls, settings: UiSettings) -> Self:
        return cls(settings.url, settings.api_key, settings.timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """``GET /health``: status, whether the model is loaded, its version."""
        return self._request("GET", "/health")

    def model_info(self) -> dict[str, Any]:
        """``GET /model``: name, version, family, threshold, features, metrics, data hash."""
        return self._request("GET", "/model")

    def clients(self, limit: int = 50, offset: int = 0) -> list[int]:
        """``GET /clients``: SK_ID_CURR of the clients the API can score by id."""
        data = self._request("GET", "/clients", params={"limit": limit, "offset": offset})
        return [int(item) for item in data]

    def client(self, sk_id_curr: int) -> dict[str, Any]:
        """``GET /clients/{id}``: the client's raw application (missing values as None)."""
        return dict(self._request("GET", f"/clients/{int(sk_id_curr)}"))

    def predict(
        self,
        application: Mapping[str, Any],
        history: Mapping[str, Any] | None = None,
        counterfactual: bool = False,
    ) -> Prediction:
        """``POST /predict``: probability of default, decision and explanation (and, with
        ``counterfactual``, what change of the loan's terms would grant a refused one)."""
        body = {"application": _json_ready(application), "history": history}
        params = {"counterfactual": "true"} if counterfactual else None
        return Prediction.from_json(self._request("POST", "/predict", json=body, params=params))

    def decision(self, request_id: str) -> dict[str, Any]:
        """``GET /decisions/{request_id}``: the decision, its overrides, the one in force."""
        return dict(self._request("GET", f"/decisions/{request_id}"))

    def override(
        self,
        request_id: str,
        *,
        officer_key: str,
        officer_id: str,
        decision: str,
        reason: str,
        comment: str = "",
    ) -> dict[str, Any]:
        """``POST /decisions/{request_id}/override`` with the officer's key: the new record."""
        body = {
            "officer_id": officer_id,
            "decision": decision,
            "reason": reason,
            "comment": comment,
        }
        return dict(
            self._request(
                "POST",
                f"/decisions/{request_id}/override",
                json=body,
                headers={OFFICER_KEY_HEADER: officer_key},
            )
        )

    def population(self, features: Iterable[str]) -> dict[str, Distribution]:
        """``GET /population``: training distribution of each feature (unknown ones left out)."""
        names = [str(name) for name in features]
        if not names:
            return {}
        data = self._request("GET", "/population", params={"features": ",".join(names)})
        return {
            name: Distribution.from_json(name, entry)
            for name, entry in data.items()
            if isinstance(entry, Mapping)
        }

    def traffic_drift(self) -> dict[str, Any]:
        """``GET /monitoring/traffic``: the latest drift report of the logged traffic (its
        metrics, window and columns); :class:`ApiNotFound` until the monitor wrote one."""
        return dict(self._request("GET", "/monitoring/traffic"))

    def traffic_drift_report(self) -> bytes:
        """``GET /monitoring/traffic/report``: the same report's Evidently HTML."""
        return self._request("GET", "/monitoring/traffic/report", raw=True)

    def _request(self, method: str, path: str, raw: bool = False, **kwargs: Any) -> Any:
        """Send one request (its JSON answer, or its bytes when ``raw``); turn every failure
        into an :class:`ApiError` with a clear message."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise ApiUnavailable(
                f"API unreachable: no answer from {self.url} within {self._timeout:g} s "
                f"({type(error).__name__})."
            ) from error
        except httpx.TransportError as error:
            raise ApiUnavailable(
                f"API unreachable at {self.url}: {error or type(error).__name__}. "
                f"Is the API running? Set {URL_ENV} to its address."
            ) from error
        if response.is_success:
            return response.content if raw else _json_body(response)
        raise error_from_response(response)


def error_from_response(response: httpx.Response) -> ApiError:
    """The :class:`ApiError` matching a failed response, with the API's own explanation."""
    status = response.status_code
    detail = _detail(response)
    if status == 422:
        return ApiValidationError(field_errors(detail))
    text = detail if isinstance(detail, str) else response.reason_phrase
    if status in (401, 403):
        officer = OFFICER_KEY_HEADER in str(text) or "overrides" in str(text)
        variable, kind = (OFFICER_KEY_ENV, "officer key") if officer else (KEY_ENV, "API key")
        return ApiAuthError(
            f"The API refused the {kind} ({status}: {text}). Set {variable} to a valid key.",
            status,
        )
    if status == 404:
        return ApiNotFound(f"Not found ({status}): {text}", status)
    if status == 503:
        return ApiError(f"The API is not ready ({status}): {text}", status)
    if status >= 500:
        return ApiError(f"The API failed ({status}): {text}", status)
    return ApiError(f"The API answered {status}: {text}", status)


def field_errors(detail: Any) -> list[FieldError]:
    """The field and reason of each problem of a 422 ``detail`` (FastAPI list, dict or text)."""
    if isinstance(detail, str):
        return [FieldError("", detail)]
    if isinstance(detail, Mapping):
        detail = [detail]
    if not isinstance(detail, list):
        return [FieldError("", "invalid request")]
    errors = []
    for item in detail:
        if not isinstance(item, Mapping):
            errors.append(FieldError("", str(item)))
            continue
        loc = tuple(item.get("loc") or ())
        message = str(item.get("msg") or item.get("message") or item.get("type") or "invalid")
        errors.append(FieldError(field_name(loc), message, loc))
    return errors


def field_name(loc: tuple[str | int, ...]) -> str:
    """The field of a 422 ``loc`` without its location prefixes (``body.application.X`` -> X)."""
    parts = list(loc)
    while parts and parts[0] in _LOC_PREFIXES:
        parts.pop(0)
    return ".".join(str(part) for part in parts)


def _detail(response: httpx.Response) -> Any:
    """The ``detail`` of an error body, or its text when it is not FastAPI's JSON."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, Mapping) and "detail" in body:
        return body["detail"]
    return body if isinstance(body, list | str) else str(body)


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise ApiError(
            f"The API answered {response.status_code} with a body that is not JSON.",
            response.status_code,
        ) from error


def _json_ready(application: Mapping[str, Any]) -> dict[str, Any]:
    """The application with NaN as None and numpy scalars as Python numbers."""
    ready = {}
    for key, value in application.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        ready[str(key)] = value
    return ready


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
