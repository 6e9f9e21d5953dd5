"""RPMOutput payloads as upstream would send them (JSON text), and the confirmation fields it gets back."""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.domain.contracts import RPMOutput, parse_rpm_output


def rpm_payload(
    *,
    symbol: str = "EURUSD",
    direction: int = 1,
    units: int | str = 100_000,
    order_id: str | None = None,
    status: str = "APPROVED",
    halted: bool = False,
    halt_reason: str | None = None,
    intended_price: float | None = None,
    **trade_extra: Any,
) -> dict[str, Any]:
    decision: dict[str, Any] = {"status": status, "order_id": order_id or f"rpm_{uuid.uuid4().hex[:12]}"}
    if status == "REJECTED":
        decision["rejected_trade"] = {
            "rejection_reason": "KILL_SWITCH_TRIGGERED",
            "rejection_details": "drawdown limit",
        }
    else:
        trade: dict[str, Any] = {
            "symbol": symbol,
            "direction": direction,
            "position_units": units,
            "confidence_score": 0.78,
            "regime": "TRENDING",
            "base_units": 100000,
            "risk_per_trade": 500.0,
            **trade_extra,
        }
        if intended_price is not None:
            trade["intended_price"] = intended_price
        decision["approved_trade"] = trade
    return {
        "decision": decision,
        "portfolio_state": {
            "trading_halted": halted,
            "halt_reason": halt_reason,
            "current_drawdown": 0.05,
            "equity": 98500.0,
        },
        "risk_metrics": {},
        "config_hash": "abc123def456",
        "rpm_version": "1.0.0",
        "model_version": "2.3.1",
    }


def rpm(**kwargs: Any) -> tuple[RPMOutput, str]:
    """A parsed RPMOutput and the raw text it was parsed from."""
    raw = json.dumps(rpm_payload(**kwargs))
    return parse_rpm_output(raw), raw


# The ExecutionConfirmation's fields as docs/CONTRACT.md §3 names them: what every door answers with.
CONFIRMATION_FIELDS = {
    "execution_id",
    "request_id",
    "rpm_order_id",
    "order_id",
    "status",
    "rejection_reason",
    "rejection_details",
    "symbol",
    "direction",
    "intended_units",
    "executed_units",
    "intended_price",
    "fill_price",
    "slippage_pips",
    "timestamp",
}


def json_text(payload: dict[str, Any], **literals: str) -> str:
    """The payload's JSON text with each "@name@" placeholder in it written as the number literal given,
    verbatim: json.dumps would write a number through a float, which is what these literals must escape."""
    text = json.dumps(payload)
    for name, literal in literals.items():
        placeholder = f'"@{name}@"'
        assert placeholder in text, placeholder
        text = text.replace(placeholder, literal)
    return text
