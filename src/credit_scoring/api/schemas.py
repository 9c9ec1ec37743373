"""Request and response models; the application and history row models come from the schema.

Every Kaggle column is a field: numeric columns are ``int``/``float`` (a JSON number, ``null`` for
missing), categorical columns are strings. Unknown fields are refused (422 naming the field), as
are values :data:`credit_scoring.validate.DOMAIN_BOUNDS` calls impossible, ``FLAG_*`` numbers other
than 0/1, text or booleans where a number is expected, infinities and absurdly large numbers. A
NaN number (``NaN`` in lenient JSON, or an empty CSV cell) means "missing".
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from credit_scoring.data import schema
from credit_scoring.data.plausibility import RULES, any_broken
from credit_scoring.data.validate import domain_bounds

APPLICATION_TABLE = "application_test"
# Fields an application must carry (non-null). AMT_ANNUITY is optional: a few genuine
# applications lack it, and the features and models handle it missing.
REQUIRED_FIELDS = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH", "DAYS_EMPLOYED")
# Keys a history row must carry to be linked to its credit / previous loan.
HISTORY_LINK_KEYS: dict[str, tuple[str, ...]] = {
    "bureau": (schema.BUREAU_ID,),
    "bureau_balance": (schema.BUREAU_ID,),
    "previous_application": (schema.PREVIOUS_ID,),
    "POS_CASH_balance": (schema.PREVIOUS_ID,),
    "installments_payments": (schema.PREVIOUS_ID,),
    "credit_card_balance": (schema.PREVIOUS_ID,),
}
# Larger magnitudes are input errors (the largest Kaggle amounts are around 1e8).
MAX_ABS_NUMBER = 1e15
MAX_TEXT_LENGTH = 200
MAX_HISTORY_ROWS = 20_000

Decision = Literal["granted", "refused"]
HistorySource = Literal["request", "store", "none"]


def _number(value: Any) -> Any:
    """Accept JSON numbers only: NaN becomes None, text/booleans/infinities/huge values fail."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "wrong_type",
            "wrong type: expected a number or null, got {kind}",
            {"kind": _kind(value)},
        )
    if isinstance(value, float) and math.isnan(value):
        return None
    if abs(value) > MAX_ABS_NUMBER or not math.isfinite(value):
        raise PydanticCustomError(
            "out_of_range",
            "number out of range: |value| must be finite and at most {limit}",
            {"limit": f"{MAX_ABS_NUMBER:g}"},
        )
    return value


def _required_number(value: Any) -> Any:
    """Like :func:`_number`, but null (or NaN) is refused: the field is required."""
    value = _number(value)
    if value is None:
        raise PydanticCustomError("missing_value", "required field: a number is needed, not null")
    return value


def _kind(value: Any) -> str:
    """JSON name of a value's type, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bounds_check(low: float | None, high: float | None):
    """An after-validator refusing values outside ``[low, high]`` (None: unbounded)."""

    def check(value: float | int | None) -> float | int | None:
        if value is None:
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            raise PydanticCustomError(
                "impossible_value",
                "impossible value {value}: must be within [{low}, {high}]",
                {
                    "value": value,
                    "low": "-inf" if low is None else low,
                    "high": "inf" if high is None else high,
                },
            )
        return value

    return check


def _field(column: str, kind: str, required: bool) -> tuple[Any, Any]:
    """``(annotation, default)`` of one schema column for :func:`pydantic.create_model`."""
    if kind == "category":
        text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
        return (text if required else text | None), (... if required else None)
    base: type = int if kind == "int" else float
    validators: list[Any] = [BeforeValidator(_required_number if required else _number)]
    low, high = domain_bounds(column)
    bounds = {}
    if low is not None or high is not None:
        validators.append(AfterValidator(_bounds_check(low, high)))
        bounds = {k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None}
    extra = Field(json_schema_extra=bounds) if bounds else Field()  # documented, checked above
    annotation = Annotated[base if required else base | None, *validators, extra]
    return annotation, (... if required else None)


def accepted_range(column: str) -> tuple[float, float]:
    """The closed range of a numeric column's accepted values: its domain bounds, within
    :data:`MAX_ABS_NUMBER` (what the native twins and the batch decoder check)."""
    low, high = domain_bounds(column)
    low = -MAX_ABS_NUMBER if low is None else max(low, -MAX_ABS_NUMBER)
    high = MAX_ABS_NUMBER if high is None else min(high, MAX_ABS_NUMBER)
    return low, high


def _native_field(column: str, kind: str, required: bool) -> tuple[Any, Any]:
    """Like :func:`_field` with pydantic's own (Rust) checks only, refusing more where they
    cannot tell the same story: a JSON number of the column's kind (no 1.0 for an integer, no
    NaN) within the column's bounds and :data:`MAX_ABS_NUMBER`."""
    if kind == "category":
        return _field(column, kind, required)
    low, high = accepted_range(column)
    bounds = Field(ge=low, le=high, **({} if kind == "int" else {"allow_inf_nan": False}))
    number = Annotated[int if kind == "int" else float, Strict(), bounds]
    return (number, ...) if required else (number | None, None)


# A row model -> its native twin (a subclass with :func:`_native_field` fields).
_NATIVE: dict[type[BaseModel], type[BaseModel]] = {}


def _native_first(cls: type[BaseModel], data: Any, handler: Any) -> Any:
    """Validate a JSON object by the model's native twin, 3 times faster; when the twin refuses
    it, by the model's own validators (which accept NaN as null, 1.0 as 1, and say what is
    wrong). Whatever the twin accepts, the model accepts with the same values (tested)."""
    native = _NATIVE.get(cls)
    if native is not None and type(data) is dict:
        try:
            return native.model_validate(data)
        except ValidationError:
            pass
    return handler(data)


# True while a batch's rows are validated: their plausibility rules are then applied to the
# whole batch at once (:meth:`BatchRequest._rules_on_the_whole_batch`), not row by row.
_RULES_ON_THE_BATCH: ContextVar[bool] = ContextVar("rules_on_the_batch", default=False)


def _plausibility_validators(columns: list[str]) -> dict[str, Any]:
    """Field validators applying :data:`credit_scoring.data.plausibility.RULES` (the ingest's
    rules) to one application: a 422 on the blamed field. A rule reads only fields declared
    before that field (pydantic validates in order), which the assertion keeps true."""
    validators = {}
    for index, rule in enumerate(RULES):
        if rule.column not in columns:
            continue
        assert all(columns.index(c) <= columns.index(rule.column) for c in rule.reads), rule

        def check(cls: Any, value: Any, info: ValidationInfo, rule: Any = rule) -> Any:
            if _RULES_ON_THE_BATCH.get():
                return value
            values = {column: info.data.get(column) for column in rule.reads}
            if rule.violated(values | {rule.column: value}):
                raise PydanticCustomError("implausible_value", rule.message)
            return value

        validators[f"plausible_{index}"] = field_validator(rule.column)(check)
    return validators


def table_model(
    table: str, name: str, required: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> type[BaseModel]:
    """A pydantic model with one optional field per column of ``table`` (extra fields refused).

    Args:
        table: Kaggle table name.
        name: class name of the model.
        required: columns that must be present and non-null.
        exclude: columns left out.

    Returns:
        The generated model class.
    """
    kinds = {c: kind for c, kind in schema.column_kinds(table).items() if c not in exclude}
    fields = {column: _field(column, kind, column in required) for column, kind in kinds.items()}
    config = ConfigDict(extra="forbid", protected_namespaces=())
    validators = _plausibility_validators(list(fields)) if table == APPLICATION_TABLE else {}
    validators["native_first"] = model_validator(mode="wrap")(_native_first)
    model = create_model(
        name,
        __config__=config,
        __doc__=f"One row of {table}.",
        __validators__=validators,
        **fields,
    )
    native_fields = {c: _native_field(c, kind, c in required) for c, kind in kinds.items()}
    _NATIVE[model] = create_model(f"{name}Native", __base__=model, **native_fields)
    return model


ApplicationIn = table_model(APPLICATION_TABLE, "ApplicationIn", REQUIRED_FIELDS, (schema.TARGET,))
ApplicationIn.__doc__ = (
    "The raw application (Kaggle application columns; SK_ID_CURR optional, "
    f"required: {', '.join(REQUIRED_FIELDS)})."
)
HISTORY_ROW_MODELS: dict[str, type[BaseModel]] = {
    table: table_model(table, f"{table.title().replace('_', '')}Row", HISTORY_LINK_KEYS[table])
    for table in schema.HISTORY_TABLES
}


def _rows(table: str) -> Any:
    """Annotation of an optional list of ``table`` rows."""
    row = HISTORY_ROW_MODELS[table]
    return Annotated[list[row] | None, Field(max_length=MAX_HISTORY_ROWS)], None  # type: ignore[valid-type]


HistoryIn = create_model(
    "HistoryIn",
    __config__=ConfigDict(extra="forbid"),
    __doc__="The client's side-table rows (a missing or empty table means no rows).",
    **{table: _rows(table) for table in schema.HISTORY_TABLES},
)


class PredictRequest(BaseModel):
    """One application to score, with its history rows (null: looked up in the history store)."""

    model_config = ConfigDict(extra="forbid")

    application: ApplicationIn  # type: ignore[valid-type]
    history: HistoryIn | None = None  # type: ignore[valid-type]


@dataclass(frozen=True)
class DecodedBatch:
    """A batch body already decoded and validated (:mod:`credit_scoring.api.batch_decoder`): its
    applications' fields (every column, None where missing), without history rows."""

    applications: list[dict[str, Any]]


class BatchRequest(BaseModel):
    """Several applications scored in one call (at most ``CREDIT_API_MAX_BATCH``)."""

    model_config = ConfigDict(extra="forbid")

    applications: list[PredictRequest] = Field(min_length=1)

    @model_validator(mode="wrap")
    @classmethod
    def _rules_on_the_whole_batch(cls, data: Any, handler: Any) -> Any:
        """Validate the rows without their plausibility rules, then apply the rules to every
        row at once; when a row breaks one, or anything is invalid, validate again row by row,
        so that the errors are exactly those of the rows' own validators. A
        :class:`DecodedBatch` (the batch route's body when msgspec accepted it) is valid as
        it is."""
        if isinstance(data, DecodedBatch):
            return data
        token = _RULES_ON_THE_BATCH.set(True)
        try:
            batch = handler(data)
        except ValidationError:
            batch = None
        finally:
            _RULES_ON_THE_BATCH.reset(token)
        if batch is None or any_broken([item.application for item in batch.applications]):
            return handler(data)
        return batch


class Reason(BaseModel):
    """One feature's SHAP contribution to the decision."""

    feature: str
    value: float | str | None
    contribution: float
    direction: str


class ModelInfo(BaseModel):
    """The model that took a decision."""

    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str | None
    family: str
    source: Literal["registry", "local"]


class CounterfactualOption(BaseModel):
    """One change of the loan's terms that grants the credit."""

    strategy: Literal["lower_credit", "cheaper_goods", "longer_term", "lower_credit_longer_term"]
    description: str
    changes: dict[str, float] = Field(description="new values of the changed fields")
    change: float = Field(description="relative change of the most changed amount (0.2: 20%)")
    probability: float
    decision: Decision


class Counterfactual(BaseModel):
    """What would change a refused decision: the loan's terms only (credit amount, annuity,
    goods price), never the person."""

    found: bool
    message: str
    options: list[CounterfactualOption] = Field(description="smallest change first")


class PredictResponse(BaseModel):
    """A scored application: probability of default, decision and its reasons."""

    model_config = ConfigDict(protected_namespaces=())

    sk_id_curr: int | None
    probability: float
    decision: Decision
    threshold: float
    model: ModelInfo
    reasons: list[Reason]
    base_value: float | None
    units: str | None
    history_source: HistorySource
    request_id: str
    warnings: list[str] = []
    counterfactual: Counterfactual | None = Field(
        default=None,
        description="with ?counterfactual=true and a refused decision: what would grant it",
    )


class BatchResponse(BaseModel):
    """The decisions of a batch, in request order."""

    results: list[PredictResponse]
    n: int


class HealthResponse(BaseModel):
    """Liveness and model status."""

    model_config = ConfigDict(protected_namespaces=())

    status: Literal["ok", "unavailable"]
    model_loaded: bool
    model_version: str | None


class FeatureColumns(BaseModel):
    """The model's input columns."""

    numeric: list[str]
    categorical: list[str]


class ModelDetails(BaseModel):
    """Everything known about the serving model."""

    name: str
    version: str | None
    family: str
    threshold: float
    features: FeatureColumns
    metrics: dict[str, float]
    data_hash: str | None
    data_source: str | None
    source: Literal["registry", "local"]
    uri: str


class ErrorMessage(BaseModel):
    """An error that is not about one input field."""

    detail: str


class ServedModel(ModelInfo):
    """The model a worker serves, and where it was loaded from."""

    uri: str


class ReloadResponse(BaseModel):
    """The models before and after a reload."""

    previous: ServedModel | None
    serving: ServedModel
    changed: bool


# Why an officer overrides a decision: a closed list, so overrides can be counted per reason.
OverrideReason = Literal[
    "income_verified",
    "collateral_or_guarantor",
    "existing_client_relationship",
    "data_error",
    "affordability_concern",
    "fraud_suspicion",
    "policy_exception",
    "other",
]


class OverrideRequest(BaseModel):
    """An officer's override of a decision (``other`` needs a comment)."""

    model_config = ConfigDict(extra="forbid")

    officer_id: str = Field(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")
    decision: Decision
    reason: OverrideReason
    comment: str = Field(default="", max_length=2000)

    @field_validator("comment")
    @classmethod
    def _other_needs_a_comment(cls, comment: str, info: ValidationInfo) -> str:
        if info.data.get("reason") == "other" and len(comment.strip()) < 5:
            raise PydanticCustomError(
                "comment_required", "reason 'other' needs a comment of at least 5 characters"
            )
        return comment


class OverrideRecord(BaseModel):
    """One recorded override."""

    model_config = ConfigDict(protected_namespaces=())

    id: int
    request_id: str
    created_at: datetime
    officer_id: str
    decision_before: Decision
    decision: Decision
    reason: str
    comment: str
    model_name: str
    model_version: str | None


class DecisionHistory(BaseModel):
    """A logged decision, its overrides and the decision in force."""

    model_config = ConfigDict(protected_namespaces=())

    request_id: str
    created_at: datetime
    sk_id_curr: int | None
    probability: float
    threshold: float
    decision: Decision
    model_name: str
    model_version: str | None
    overrides: list[OverrideRecord]
    decision_in_force: Decision
