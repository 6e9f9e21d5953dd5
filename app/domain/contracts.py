"""The external contract: RPMOutput in, ExecutionConfirmation out (docs/CONTRACT.md §2 and §3).

Units, prices and every number recorded are Decimal: JSON numbers are read from their text exactly
(app.domain.jsontext) and never pass through a float that could round a size; one that its column could not
keep exactly is refused, naming its field. Unknown extra fields are kept, so the record holds what
upstream sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from app.domain import jsontext
from app.domain.bounds import CONFIDENCE_DIGITS, MONEY_DIGITS, PRICE_DIGITS, UNITS_DIGITS


class ExecutionStatus(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self not in (ExecutionStatus.PENDING, ExecutionStatus.SUBMITTED)


class RejectionReason(StrEnum):
    RPM_REJECTED = "RPM_REJECTED"
    TRADING_HALTED = "TRADING_HALTED"
    MARKET_CLOSED = "MARKET_CLOSED"
    SYMBOL_NOT_TRADABLE = "SYMBOL_NOT_TRADABLE"
    MARKET_DATA_UNAVAILABLE = "MARKET_DATA_UNAVAILABLE"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    SPREAD_TOO_WIDE = "SPREAD_TOO_WIDE"
    MARGIN_INSUFFICIENT = "MARGIN_INSUFFICIENT"
    LIQUIDITY_INSUFFICIENT = "LIQUIDITY_INSUFFICIENT"
    INVALID_VOLUME = "INVALID_VOLUME"
    BROKER_REJECTION = "BROKER_REJECTION"
    ORDER_TIMEOUT = "ORDER_TIMEOUT"
    SLIPPAGE_EXCEEDED = "SLIPPAGE_EXCEEDED"
    OPERATOR_CANCELLED = "OPERATOR_CANCELLED"


class DecisionStatus(StrEnum):
    APPROVED = "APPROVED"
    ADJUSTED = "ADJUSTED"
    REJECTED = "REJECTED"


def _utc_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# The context under which ExactJSON has pydantic write a model's JSON: it puts each Decimal back itself.
_DECIMALS_PUT_BACK = "decimals put back"


def _json_number(value: Decimal, info: SerializationInfo) -> int | float:
    """pydantic's own JSON of a Decimal (a model answered without ExactJSON): an int, or a float whose
    repr is the very number. One that a float would round is refused, never rounded."""
    if info.context == _DECIMALS_PUT_BACK:
        return 0  # a placeholder: ExactJSON writes the Decimal in its place
    as_float = float(value)
    if as_float.is_integer() and Decimal(int(as_float)) == value:
        return int(as_float)
    if Decimal(repr(as_float)) == value:
        return as_float
    raise ValueError(f"{value} is more digits than a float keeps: its model must be written by ExactJSON")


# A Decimal that must be finite (no NaN/Infinity sneaking in as a size or a price). ExactJSON writes it
# as its exact JSON number.
ExactDecimal = Annotated[
    Decimal, Field(allow_inf_nan=False), PlainSerializer(_json_number, return_type=int | float, when_used="json")
]
# The model's other figures: nothing records them but the raw payload, which keeps them as sent.
Finite = Annotated[float, Field(allow_inf_nan=False)]
UtcTimestamp = Annotated[datetime, PlainSerializer(_utc_z, return_type=str, when_used="json")]
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
]
Symbol = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9._#-]+$")
]


def _printable(value: str) -> str:
    # Control characters (NUL above all) have no place in a record a compliance officer reads,
    # and PostgreSQL refuses NUL in text.
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("must not contain control characters")
    return value


Printable = AfterValidator(_printable)
Text40 = Annotated[str, StringConstraints(max_length=40), Printable]
Text128 = Annotated[str, StringConstraints(max_length=128), Printable]
ReasonText = Annotated[str, StringConstraints(min_length=1, max_length=200), Printable]
ShortText = Annotated[str, StringConstraints(max_length=2000), Printable]


class ExactJSON(BaseModel):
    """A model whose JSON carries its Decimals as exact numbers (pydantic writes them through a float)."""

    def exact_dump(self, **options: Any) -> Any:
        """model_dump(mode="json") with each Decimal left a Decimal, for app.domain.jsontext.dumps to write."""
        plain = self.model_dump(mode="json", context=_DECIMALS_PUT_BACK, **options)
        return jsontext.with_decimals(self.model_dump(**options), plain)

    def model_dump_json(self, *, indent: int | None = None, **options: Any) -> str:
        return jsontext.dumps(self.exact_dump(**options), indent)


class _Open(ExactJSON):
    """Input models keep unknown fields verbatim (docs/CONTRACT.md §2)."""

    model_config = ConfigDict(extra="allow", str_max_length=10_000)


class ApprovedTrade(_Open):
    symbol: Symbol
    direction: Literal[1, -1]
    position_units: ExactDecimal = Field(gt=0, max_digits=UNITS_DIGITS[0], decimal_places=UNITS_DIGITS[1])
    confidence_score: ExactDecimal | None = Field(
        default=None, max_digits=CONFIDENCE_DIGITS[0], decimal_places=CONFIDENCE_DIGITS[1]
    )
    regime: Text40 | None = None
    base_units: ExactDecimal | None = None
    confidence_adjustment: Finite | None = None
    regime_adjustment: Finite | None = None
    correlation_adjustment: Finite | None = None
    atr: Finite | None = None
    vol_percentile: Finite | None = None
    risk_per_trade: ExactDecimal | None = Field(
        default=None, max_digits=MONEY_DIGITS[0], decimal_places=MONEY_DIGITS[1]
    )
    kelly_fraction: Finite | None = None
    expectancy: Finite | None = None
    intended_price: ExactDecimal | None = Field(
        default=None, gt=0, max_digits=PRICE_DIGITS[0], decimal_places=PRICE_DIGITS[1]
    )

    @field_validator("symbol")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("direction", mode="before")
    @classmethod
    def _strict_direction(cls, value: Any) -> Any:
        # bool is an int in Python: True must not pass as a long.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("direction must be 1 (long) or -1 (short)")
        return value


class RejectedTrade(_Open):
    rejection_reason: ReasonText
    rejection_details: ShortText | None = None
    symbol: Symbol | None = None  # optional, but a symbol when given: it goes in the record's symbol column

    @field_validator("symbol")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None


def _trade_for_status(schema: dict[str, Any]) -> None:
    """The schema says what _trade_matches_status enforces, so that a client (or a fuzzer) reading it
    knows that an ADJUSTED decision without its approved_trade is refused: one shape per kind of
    decision, APPROVED and ADJUSTED carrying an approved_trade (not null), REJECTED a rejected_trade.
    Whole shapes rather than if/then/else, which generators of examples cannot satisfy."""
    whole = dict(schema)
    properties = whole.pop("properties")

    def carrying(trade: str, statuses: list[str]) -> dict[str, Any]:
        ref = next(option for option in properties[trade]["anyOf"] if "$ref" in option)
        shape = {**properties, "status": {"enum": statuses}, trade: dict(ref)}
        return {**whole, "properties": shape, "required": [*whole["required"], trade]}

    schema.clear()
    schema["title"] = whole.get("title", "TradeDecision")
    schema["anyOf"] = [
        carrying("approved_trade", [s.value for s in DecisionStatus if s is not DecisionStatus.REJECTED]),
        carrying("rejected_trade", [DecisionStatus.REJECTED.value]),
    ]


class TradeDecision(_Open):
    model_config = ConfigDict(json_schema_extra=_trade_for_status)

    status: DecisionStatus
    approved_trade: ApprovedTrade | None = None
    rejected_trade: RejectedTrade | None = None
    order_id: Identifier

    @model_validator(mode="after")
    def _trade_matches_status(self) -> TradeDecision:
        if self.status is DecisionStatus.REJECTED:
            if self.rejected_trade is None:
                raise ValueError("rejected_trade is required when status is REJECTED")
        elif self.approved_trade is None:
            raise ValueError(f"approved_trade is required when status is {self.status.value}")
        return self


class PortfolioState(_Open):
    trading_halted: Annotated[bool, Strict()]  # a halt flag is never guessed from "yes" or 0
    halt_reason: ShortText | None = None
    current_drawdown: Finite | None = None
    equity: ExactDecimal | None = None


class RPMOutput(_Open):
    decision: TradeDecision
    portfolio_state: PortfolioState
    risk_metrics: dict[str, Any] = Field(default_factory=dict)
    config_hash: Text128 | None = None
    rpm_version: Text40 | None = None
    model_version: Text40 | None = None

    @property
    def order_id(self) -> str:
        return self.decision.order_id


class ExecutionConfirmation(ExactJSON):
    execution_id: str
    request_id: str
    rpm_order_id: str
    order_id: str | None = None
    status: ExecutionStatus
    rejection_reason: RejectionReason | None = None
    rejection_details: str | None = None
    symbol: str
    direction: int
    intended_units: ExactDecimal
    executed_units: ExactDecimal
    intended_price: ExactDecimal | None = None
    fill_price: ExactDecimal | None = None
    slippage_pips: ExactDecimal | None = None
    timestamp: UtcTimestamp


class FieldError(BaseModel):
    field: str
    message: str


class InvalidRPMOutput(ValueError):
    """An RPMOutput that cannot be executed, with one entry per bad field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("function-after", "function-before")]
    return ".".join(parts) or "body"


def field_errors(exc: ValidationError) -> list[FieldError]:
    return [FieldError(field=_field_path(tuple(e["loc"])), message=e["msg"]) for e in exc.errors()]


# As deep as an RPMOutput could ever nest (pydantic's JSON parser stopped there): its record is
# written back as JSON recursively.
_MAX_DEPTH = 200


def _outside_json(data: Any) -> list[FieldError]:
    """NaN and Infinity anywhere in the document, each named; or nesting past _MAX_DEPTH."""
    errors: list[FieldError] = []
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), data)]
    while stack:  # not recursive: a deep document must not exhaust the stack here either
        path, value = stack.pop()
        if len(path) > _MAX_DEPTH:
            return [FieldError(field="body", message=f"Invalid JSON: nested deeper than {_MAX_DEPTH} levels")]
        if isinstance(value, Decimal) and not value.is_finite():
            errors.append(FieldError(field=_field_path(path), message=f"{value} is not a JSON number"))
        elif isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return errors


def parse_rpm_output(raw: bytes | str) -> RPMOutput:
    """Parse upstream JSON, every number exactly as written; every failure names the field and the reason."""
    try:
        data = jsontext.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidRPMOutput([FieldError(field="body", message=f"Invalid JSON: {exc}")]) from exc
    if errors := _outside_json(data):
        raise InvalidRPMOutput(errors)
    try:
        return RPMOutput.model_validate(data)
    except ValidationError as exc:
        raise InvalidRPMOutput(field_errors(exc)) from exc
