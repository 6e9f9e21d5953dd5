"""The API's JSON shapes beyond the contract's own RPMOutput and ExecutionConfirmation: the OpenAPI schema.

Decimals go out as exact JSON numbers (app.domain.contracts.ExactJSON) and timestamps as ISO-8601 UTC with `Z`,
as in the confirmation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.adapters.broker.types import BrokerAccount, BrokerDeal
from app.domain import jsontext
from app.domain.audit import AuditEvent
from app.domain.contracts import ExactDecimal, ExactJSON, ExecutionConfirmation, FieldError, UtcTimestamp
from app.domain.execution import Execution
from app.domain.tca import HORIZONS_S, Tca, horizon_name
from app.engine.exposure import PositionLine, PositionsView
from app.engine.positions import ForeignPosition, PositionReport, SymbolPosition
from app.store.repository import StoredFill
from app.store.tca_aggregates import MetricStats, TcaGroup


class ExactAnswer(JSONResponse):
    """A model (or a list of them) answered with its numbers exact, never through a float."""

    def render(self, content: ExactJSON | list[ExactJSON]) -> bytes:
        data = content.exact_dump() if isinstance(content, ExactJSON) else [m.exact_dump() for m in content]
        return jsontext.dumps(data).encode()


class ErrorMessage(BaseModel):
    detail: str


class FieldErrors(BaseModel):
    """A 422: one entry per bad field, named by its dotted path (`decision.approved_trade.direction`)."""

    detail: list[FieldError]


class FillRecord(ExactJSON):
    broker_order_id: str
    deal_id: str
    lots: ExactDecimal
    units: ExactDecimal
    price: ExactDecimal
    fill_timestamp: UtcTimestamp

    @classmethod
    def of(cls, fill: StoredFill) -> FillRecord:
        return cls(**fill.__dict__)


class AuditEventRecord(BaseModel):
    seq: int
    event_timestamp: UtcTimestamp
    event_type: str
    execution_id: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str
    signature: str

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventRecord:
        return cls(
            seq=event.seq,
            event_timestamp=event.event_timestamp,
            event_type=event.event_type,
            execution_id=event.execution_id,
            data=event.data,
            prev_hash=event.prev_hash,
            hash=event.hash,
            signature=event.signature,
        )


class RequestRecord(ExactJSON):
    """The execution request as recorded before anything was sent, with the RPMOutput verbatim."""

    request_id: str
    rpm_order_id: str
    execution_id: str
    received_timestamp: UtcTimestamp
    channel: str
    source: str | None
    decision_status: str
    config_hash: str | None
    timeout_seconds: ExactDecimal
    max_slippage_pips: ExactDecimal | None
    rpm_output_raw: str
    rpm_output: Any = Field(description="rpm_output_raw parsed, for convenience (its numbers exactly as sent)")

    @classmethod
    def of(cls, row: dict[str, Any]) -> RequestRecord:
        return cls(**row, rpm_output=jsontext.loads(row["rpm_output_raw"]))


class TcaRecord(ExactJSON):
    """Transaction-cost analysis of the fill (docs/CONTRACT.md §3a): pips positive when they cost the trade."""

    arrival_mid: ExactDecimal = Field(description="the mid of the quote read at validation")
    spread_pips: ExactDecimal | None = Field(description="the spread of that quote")
    slippage_vs_arrival_pips: ExactDecimal | None = Field(description="fill price against the arrival mid")
    markouts_pips: dict[str, ExactDecimal | None] = Field(
        description='"1s", "5s", "30s", "60s": the fill price against the mid that long after the fill;'
        " null until known, or when missing"
    )
    markouts_missing: list[str] = Field(description="the horizons the broker had no price for")

    @classmethod
    def of(cls, tca: Tca) -> TcaRecord:
        return cls(
            arrival_mid=tca.arrival_mid,
            spread_pips=tca.spread_pips,
            slippage_vs_arrival_pips=tca.slippage_vs_arrival_pips,
            markouts_pips={horizon_name(h): tca.markouts_pips.get(h) for h in HORIZONS_S},
            markouts_missing=[horizon_name(h) for h in HORIZONS_S if h in tca.missing],
        )


class TcaStats(ExactJSON):
    count: int = Field(description="executions with the figure")
    mean: ExactDecimal | None = Field(description="to a hundredth of a pip")
    p50: ExactDecimal | None = Field(description="the nearest-rank median")
    p90: ExactDecimal | None = Field(description="the nearest-rank 90th percentile")
    stdev: ExactDecimal | None = Field(description="the sample standard deviation (two or more values)")

    @classmethod
    def of(cls, stats: MetricStats) -> TcaStats:
        return cls(**stats.__dict__)


class TcaGroupRecord(ExactJSON):
    group: str = Field(description="the symbol, the UTC hour of arrival (00-23) or the size band")
    executions: int
    sent: int = Field(description="executions that reached the broker")
    filled: int = Field(description="executions filled, in full or in part")
    fill_ratio: ExactDecimal | None = Field(description="filled ÷ sent")
    spread_pips_mean: ExactDecimal | None = Field(description="the mean spread at arrival of the filled executions")
    slippage_pips: TcaStats = Field(description="against the intended price")
    slippage_vs_arrival_pips: TcaStats = Field(description="against the mid at validation")
    markouts_pips: dict[str, TcaStats] = Field(description='"1s", "5s", "30s", "60s"')

    @classmethod
    def of(cls, group: TcaGroup) -> TcaGroupRecord:
        m = group.metrics
        return cls(
            group=group.group,
            executions=group.executions,
            sent=group.sent,
            filled=group.filled,
            fill_ratio=group.fill_ratio,
            spread_pips_mean=group.spread_pips_mean,
            slippage_pips=TcaStats.of(m["slippage_pips"]),
            slippage_vs_arrival_pips=TcaStats.of(m["slippage_vs_arrival_pips"]),
            markouts_pips={horizon_name(h): TcaStats.of(m[f"markout_{horizon_name(h)}_pips"]) for h in HORIZONS_S},
        )


class TcaReport(ExactJSON):
    """GET /tca: pips positive when they cost the trade (docs/CONTRACT.md §3a)."""

    start_date: UtcTimestamp
    end_date: UtcTimestamp
    group_by: str
    groups: list[TcaGroupRecord]

    @classmethod
    def of(cls, start: datetime, end: datetime, group_by: str, groups: list[TcaGroup]) -> TcaReport:
        return cls(start_date=start, end_date=end, group_by=group_by, groups=[TcaGroupRecord.of(g) for g in groups])


class ExecutionRecord(ExecutionConfirmation):
    """GET /executions/{id}: the confirmation, every stored column, the request, the fills, the audit events."""

    # A column added to the store later appears here too, before anyone documents it.
    model_config = ConfigDict(extra="allow")

    rpm_decision_id: str
    decision_status: str
    broker: str
    execution_engine_version: str
    created_timestamp: UtcTimestamp
    last_update_timestamp: UtcTimestamp
    submission_timestamp: UtcTimestamp | None = None
    fill_timestamp: UtcTimestamp | None = None
    cancel_requested_timestamp: UtcTimestamp | None = None
    lots: ExactDecimal | None = None
    slippage_category: str | None = None
    market_bid: ExactDecimal | None = None
    market_ask: ExactDecimal | None = None
    spread_pips: ExactDecimal | None = None
    attempts: int = 0
    fill_count: int = 0
    confidence_score: ExactDecimal | None = None
    regime: str | None = None
    risk_per_trade: ExactDecimal | None = None
    model_version: str | None = None
    rpm_version: str | None = None
    request: RequestRecord | None
    fills: list[FillRecord]
    audit_events: list[AuditEventRecord]
    tca: TcaRecord | None = Field(default=None, description="null for an execution without a fill")

    @classmethod
    def of(
        cls,
        execution: Execution,
        request: dict[str, Any] | None,
        fills: list[StoredFill],
        events: list[AuditEvent],
        tca: Tca | None = None,
    ) -> ExecutionRecord:
        confirmation = execution.confirmation().model_dump()
        columns = {k: v for k, v in execution.to_row().items() if k not in confirmation}
        return cls(
            **confirmation,
            **columns,
            request=RequestRecord.of(request) if request else None,
            fills=[FillRecord.of(f) for f in fills],
            audit_events=[AuditEventRecord.of(e) for e in events],
            tca=TcaRecord.of(tca) if tca is not None else None,
        )


class AlertRecord(BaseModel):
    rule: str
    severity: str = Field(description="warning | critical")
    message: str


class WindowMetricsRecord(BaseModel):
    """The figures of one window (all time at the top level of MetricsRecord)."""

    model_config = ConfigDict(extra="allow")

    total_executions: int
    successful_executions: int
    failed_executions: int
    success_rate: float | None = Field(description="filled / final executions, a fraction (RPM rejections excluded)")
    avg_slippage_pips: float | None = Field(description="signed, + is worse: fills either way cancel out")
    avg_abs_slippage_pips: float | None = Field(description="average |slippage|: what the slippage alert watches")
    avg_adverse_slippage_pips: float | None = Field(description="average of max(slippage, 0)")
    fills_with_slippage: int
    rejections_by_reason: dict[str, int]
    rejections: int = Field(description="rejected by the engine or the broker (RPM rejections excluded)")
    rejection_rate: float | None = Field(description="rejections / executions asked, a fraction")
    timeout_rate: float | None = Field(description="expired / final executions, a fraction")
    network_errors: int = Field(description="network errors met while sending orders")
    network_error_rate: float | None = Field(description="executions that met a network error / executions asked")
    latency_ms: dict[str, float | None] = Field(description="p50, p95, p99")
    by_status: dict[str, int]


class MetricsRecord(WindowMetricsRecord):
    windows: dict[Literal["15m", "1h", "today", "all"], WindowMetricsRecord] = Field(
        description="the same figures for the last 15 minutes, the last hour, today (local) and all time"
    )
    active_alerts: list[AlertRecord]
    broker_connected: bool


class BrokerLink(BaseModel):
    """The link supervisor's story: a lost trade server, or a silent terminal being re-initialized."""

    state: Literal["connected", "disconnected", "reconnecting"]
    since: UtcTimestamp
    attempts: int = Field(description="reconnect attempts so far (reconnecting)")
    detail: str


class RpmHaltRecord(BaseModel):
    reason: str
    since: UtcTimestamp = Field(description="when the first decision of the halt still in force was received")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    broker_connected: bool
    database: Literal["ok", "unavailable"]
    trading_halted: bool = Field(description="the console's kill switch (POST /halt, /resume)")
    rpm_halt: RpmHaltRecord | None = Field(
        None, description="the RPM's halt, as its newest decision's portfolio_state says; null when not halted"
    )
    version: str
    broker: str
    broker_link: BrokerLink | None = None
    positions: Literal["ok", "mismatch", "unchecked"] = Field(
        "unchecked", description="the latest position reconciliation (GET /reconciliation); mismatch: degraded"
    )


class HaltRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class HaltState(BaseModel):
    trading_halted: bool
    halt_reason: str | None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approved_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None


class AuditTrail(BaseModel):
    """GET /audit_trail as JSON (streamed): the export rows as objects, and the audit events in the range."""

    start_date: UtcTimestamp
    end_date: UtcTimestamp = Field(description="exclusive: a bare end date given covers that whole day")
    records: list[dict[str, str | None]] = Field(description="the compliance CSV's rows, same columns")
    events: list[AuditEventRecord]


class SymbolPositionRecord(ExactJSON):
    symbol: str
    recorded_units: ExactDecimal = Field(description="Σ direction × units of the recorded fills")
    broker_units: ExactDecimal = Field(description="Σ buy − Σ sell units of the broker's positions of our magic")
    difference: ExactDecimal = Field(description="broker_units − recorded_units")
    state: Literal["match", "mismatch", "settling"] = Field(
        description="settling: not judged this pass (an execution in flight, or a late fill being recorded)"
    )

    @classmethod
    def of(cls, row: SymbolPosition) -> SymbolPositionRecord:
        return cls(
            symbol=row.symbol,
            recorded_units=row.recorded_units,
            broker_units=row.broker_units,
            difference=row.difference,
            state=row.state,
        )


class ForeignPositionRecord(ExactJSON):
    """A position opened outside the console (another magic, a manual trade): never a mismatch."""

    ticket: str
    symbol: str
    direction: int = Field(description="1 buy, -1 sell")
    lots: ExactDecimal
    units: ExactDecimal | None
    magic: int
    price_open: ExactDecimal

    @classmethod
    def of(cls, foreign: ForeignPosition) -> ForeignPositionRecord:
        p = foreign.position
        return cls(
            ticket=p.ticket,
            symbol=p.symbol,
            direction=p.direction,
            lots=p.lots,
            units=foreign.units,
            magic=p.magic,
            price_open=p.price_open,
        )


class DealRecord(ExactJSON):
    deal: str
    order: str
    symbol: str
    direction: int
    lots: ExactDecimal
    price: ExactDecimal
    time: UtcTimestamp
    comment: str

    @classmethod
    def of(cls, deal: BrokerDeal) -> DealRecord:
        return cls(
            deal=deal.deal,
            order=deal.order,
            symbol=deal.symbol,
            direction=deal.direction,
            lots=deal.lots,
            price=deal.price,
            time=deal.time,
            comment=deal.tag,
        )


class Reconciliation(ExactJSON):
    """GET /reconciliation: the broker's open positions of the console's magic against the recorded fills."""

    status: Literal["ok", "mismatch"]
    checked_at: UtcTimestamp
    symbols: list[SymbolPositionRecord]
    foreign_positions: list[ForeignPositionRecord]
    unattributed_deals: list[DealRecord] = Field(
        description="deals of the console's magic, missing from the record, whose comment names no execution"
    )

    @classmethod
    def of(cls, report: PositionReport) -> Reconciliation:
        return cls(
            status=report.status,
            checked_at=report.checked_at,
            symbols=[SymbolPositionRecord.of(s) for s in report.symbols],
            foreign_positions=[ForeignPositionRecord.of(f) for f in report.foreign_positions],
            unattributed_deals=[DealRecord.of(d) for d in report.unattributed_deals],
        )


class PositionRecord(ExactJSON):
    """The open positions of one symbol, side and owner at the broker, summed (one position when netting)."""

    symbol: str
    direction: int = Field(description="1 buy (long), -1 sell (short)")
    owner: Literal["console", "foreign"] = Field(
        description="console: the positions carry the console's magic; foreign: manual trades, other experts"
    )
    lots: ExactDecimal
    units: ExactDecimal | None = Field(description="lots × contract size, unsigned; null: no contract size known")
    average_price: ExactDecimal = Field(description="lots-weighted opening price, to 2 digits beyond the quote")
    current_price: ExactDecimal = Field(description="where the broker would close them now: bid long, ask short")
    profit: ExactDecimal = Field(description="floating, in the account's currency, as the broker reports it")
    swap: ExactDecimal = Field(description="accumulated swap, in the account's currency, as the broker reports it")
    tickets: list[str] = Field(description="the broker's position tickets")
    mismatch: SymbolPositionRecord | None = Field(
        description="the position reconciliation's standing mismatch on the symbol (console lines only)"
    )

    @classmethod
    def of(cls, line: PositionLine) -> PositionRecord:
        return cls(
            symbol=line.symbol,
            direction=line.direction,
            owner="console" if line.ours else "foreign",
            lots=line.lots,
            units=line.units,
            average_price=line.average_price,
            current_price=line.current_price,
            profit=line.profit,
            swap=line.swap,
            tickets=list(line.tickets),
            mismatch=SymbolPositionRecord.of(line.mismatch) if line.mismatch is not None else None,
        )


class Positions(ExactJSON):
    """GET /positions: the broker's open positions now, the console's first."""

    read_at: UtcTimestamp
    currency: str = Field(description="the account's currency: profit and swap are in it")
    profit: ExactDecimal = Field(description="Σ profit over the positions")
    swap: ExactDecimal = Field(description="Σ swap over the positions")
    positions: list[PositionRecord]
    mismatches: list[SymbolPositionRecord] = Field(
        description="every standing mismatch, including a symbol where the broker holds none of ours"
    )
    reconciled_at: UtcTimestamp | None = Field(
        description="the reconciliation pass the mismatches come from; null: none has run yet"
    )

    @classmethod
    def of(cls, view: PositionsView) -> Positions:
        return cls(
            read_at=view.read_at,
            currency=view.currency,
            profit=view.profit,
            swap=view.swap,
            positions=[PositionRecord.of(line) for line in view.lines],
            mismatches=[SymbolPositionRecord.of(m) for m in view.mismatches],
            reconciled_at=view.reconciled_at,
        )


class Account(ExactJSON):
    """GET /account: the trading account's figures as the terminal reports them, in its currency."""

    login: int
    currency: str
    margin_mode: str = Field(description="hedging (a position per order), netting (one per symbol) or exchange")
    leverage: int
    balance: ExactDecimal
    credit: ExactDecimal
    profit: ExactDecimal = Field(description="floating, over every open position")
    equity: ExactDecimal
    margin: ExactDecimal
    margin_free: ExactDecimal
    margin_level: ExactDecimal | None = Field(description="equity / margin × 100; null while no margin is in use")

    @classmethod
    def of(cls, account: BrokerAccount) -> Account:
        return cls(**account.__dict__)
