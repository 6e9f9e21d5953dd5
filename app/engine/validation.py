"""Step 1, the gatekeeper: every check of docs/DESIGN.md's list, on one broker snapshot.

Pure: it reads the snapshot and decides; it never calls the broker. The halt checks come first and
need no snapshot at all (app.engine.engine checks them before asking the broker anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.adapters.broker.types import PreTradeSnapshot
from app.domain.contracts import ApprovedTrade, RejectionReason
from app.engine.config import EngineConfig

R = RejectionReason


@dataclass(frozen=True)
class Rejection:
    reason: RejectionReason
    details: str


def check_halts(rpm_halted: bool, rpm_reason: str | None, console_halt_reason: str | None) -> Rejection | None:
    if rpm_halted:
        return Rejection(R.TRADING_HALTED, f"RPM halted trading: {rpm_reason or 'no reason given'}")
    if console_halt_reason is not None:
        return Rejection(R.TRADING_HALTED, f"console kill switch engaged: {console_halt_reason}")
    return None


def validate(trade: ApprovedTrade, snap: PreTradeSnapshot, config: EngineConfig, now: datetime) -> Rejection | None:
    """The first failing check, in docs/DESIGN.md's order, or None when the trade may go."""
    return _tradable(trade, snap) or _prices(trade, snap, config, now) or _capacity(trade, snap, config)


def _tradable(trade: ApprovedTrade, snap: PreTradeSnapshot) -> Rejection | None:
    """The terminal, the symbol, the direction and the size."""
    if not snap.connected:
        return Rejection(R.MARKET_DATA_UNAVAILABLE, "the broker terminal is not connected")
    if snap.market_open is False:
        return Rejection(R.MARKET_CLOSED, f"{trade.symbol}: market closed ({snap.market_detail})")
    spec = snap.spec
    if spec is None:
        return Rejection(R.SYMBOL_NOT_TRADABLE, f"{trade.symbol}: unknown to the broker")
    if not snap.trade_allowed:
        return Rejection(R.SYMBOL_NOT_TRADABLE, snap.trade_disallowed_detail)
    if not spec.trade_mode.allows(trade.direction):
        side = "long" if trade.direction == 1 else "short"
        return Rejection(
            R.SYMBOL_NOT_TRADABLE, f"{trade.symbol}: trade mode '{spec.trade_mode.value}' forbids a new {side}"
        )
    if snap.volume_error is not None or snap.lots is None:
        return Rejection(R.INVALID_VOLUME, f"{trade.symbol}: {snap.volume_error}")
    return None


def _prices(trade: ApprovedTrade, snap: PreTradeSnapshot, config: EngineConfig, now: datetime) -> Rejection | None:
    """Market data present, fresh and sane, near the intended price, the spread within the limit."""
    spec, quote = snap.spec, snap.quote
    assert spec is not None  # _tradable refused an unknown symbol
    if quote is None or quote.bid <= 0 or quote.ask <= 0:
        return Rejection(R.MARKET_DATA_UNAVAILABLE, f"{trade.symbol}: no bid/ask from the broker")
    age = (now - quote.time).total_seconds()
    if age > config.max_tick_age_s:
        return Rejection(
            R.MARKET_DATA_UNAVAILABLE,
            f"{trade.symbol}: last quote is {age:.0f} s old (limit {config.max_tick_age_s:g} s)",
        )
    if quote.ask < quote.bid:
        return Rejection(R.VALIDATION_FAILED, f"{trade.symbol}: crossed market, bid {quote.bid} > ask {quote.ask}")
    if trade.intended_price is not None:
        deviation = abs(quote.mid - trade.intended_price) / trade.intended_price * 100
        if deviation > config.max_price_deviation_pct:
            return Rejection(
                R.VALIDATION_FAILED,
                f"{trade.symbol}: market mid {quote.mid} is {deviation:.2f}% from the "
                f"intended price {trade.intended_price} (limit {config.max_price_deviation_pct}%)",
            )
    spread = (quote.ask - quote.bid) / spec.pip
    if spread > config.max_spread_pips:
        return Rejection(R.SPREAD_TOO_WIDE, f"{trade.symbol}: spread {spread:.1f} pips > {config.max_spread_pips} pips")
    return None


def _capacity(trade: ApprovedTrade, snap: PreTradeSnapshot, config: EngineConfig) -> Rejection | None:
    """Margin with its cushion, liquidity at the touch and the symbol's volume limit."""
    spec, lots = snap.spec, snap.lots
    assert spec is not None and lots is not None  # _tradable refused an unknown symbol and an invalid size
    if snap.margin_required is None or snap.margin_free is None:
        return Rejection(R.VALIDATION_FAILED, f"{trade.symbol}: the broker could not compute the margin")
    needed = snap.margin_required * (1 + config.margin_cushion)
    if needed > snap.margin_free:
        return Rejection(
            R.MARGIN_INSUFFICIENT,
            f"margin {snap.margin_required:.2f} + {config.margin_cushion * 100:.0f}% cushion "
            f"= {needed:.2f} > free margin {snap.margin_free:.2f}",
        )
    if snap.liquidity_lots is not None and lots > snap.liquidity_lots:
        return Rejection(
            R.LIQUIDITY_INSUFFICIENT,
            f"{trade.symbol}: {lots} lots wanted, {snap.liquidity_lots} lots at the touch",
        )
    if spec.volume_limit > 0 and lots > spec.volume_limit:
        return Rejection(
            R.LIQUIDITY_INSUFFICIENT,
            f"{trade.symbol}: {lots} lots above the symbol's volume limit {spec.volume_limit}",
        )
    return None


def spread_pips(snap: PreTradeSnapshot) -> Decimal | None:
    if snap.quote is None or snap.spec is None:
        return None
    return ((snap.quote.ask - snap.quote.bid) / snap.spec.pip).quantize(Decimal("0.1"))
