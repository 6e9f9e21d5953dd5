"""A store the size of a desk's history, for the scale benchmarks (`execution-engine bench --history N`).

Rows are written straight into the tables in large batches — realistic content, not the engine's
path — with an audit chain that `verify` accepts, so queries, exports and the console's blotter can
be measured on a million executions in a few minutes of set-up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from app import __version__
from app.domain.audit import GENESIS, AuditSigner
from app.domain.audit_events import AuditEventType
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.store.database import Database
from app.store.tables import audit_events, execution_logs, execution_requests, execution_tca

SYMBOLS = {
    "EURUSD": (Decimal("1.09500"), 5),
    "GBPUSD": (Decimal("1.27000"), 5),
    "USDJPY": (Decimal("151.500"), 3),
    "AUDUSD": (Decimal("0.65500"), 5),
    "USDCHF": (Decimal("0.88000"), 5),
}
REJECTIONS = [
    RejectionReason.SPREAD_TOO_WIDE,
    RejectionReason.RPM_REJECTED,
    RejectionReason.MARGIN_INSUFFICIENT,
    RejectionReason.MARKET_CLOSED,
]


def _tca(log: dict[str, Any], pip: Decimal, marks: random.Random) -> dict[str, Any]:
    """The TCA of a seeded fill: quoted mid ± half a pip at arrival; mark-outs spreading with time."""
    arrival = log["market_bid"] + pip / 2
    row = {
        "execution_id": log["execution_id"],
        "arrival_mid": arrival,
        "spread_pips": log["spread_pips"],
        "slippage_vs_arrival_pips": log["slippage_pips"] - log["direction"] * Decimal("0.5"),
        "pip": pip,
        "marked_from": log["fill_timestamp"],
        "markouts_missing": None,
        "markouts_pending": 0,
    }
    for seconds in (1, 5, 30, 60):
        reach = 2 + seconds // 2
        row[f"markout_{seconds}s_pips"] = Decimal(marks.randint(-reach, reach + 2)) / 10
    return row


def seed_row(n: int, at: datetime, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    symbol = list(SYMBOLS)[n % len(SYMBOLS)]
    mid, digits = SYMBOLS[symbol]
    pip = Decimal(1).scaleb(-(digits - 1))
    direction = 1 if n % 2 else -1
    units = Decimal(1000 * rng.randint(1, 500))
    roll = rng.random()
    status = (
        ExecutionStatus.FILLED if roll < 0.85 else ExecutionStatus.REJECTED if roll < 0.97 else ExecutionStatus.EXPIRED
    )
    slip = Decimal(rng.randint(-20, 40)) / 10
    filled = status is ExecutionStatus.FILLED
    execution_id, request_id, order_id = f"exec_seed{n:015d}", f"req_seed{n:016d}", f"rpm_seed_{n}"
    log = {
        "execution_id": execution_id,
        "order_id": str(10_000_000 + n) if status is not ExecutionStatus.REJECTED else None,
        "request_id": request_id,
        "rpm_decision_id": order_id,
        "symbol": symbol,
        "direction": direction,
        "intended_units": units,
        "executed_units": units if filled else Decimal(0),
        "lots": units / 100_000,
        "intended_price": mid,
        "fill_price": mid + direction * slip * pip if filled else None,
        "slippage_pips": slip if filled else None,
        "slippage_category": (
            "excellent" if abs(slip) <= 1 else "good" if abs(slip) <= 3 else "acceptable" if abs(slip) <= 5 else "poor"
        )
        if filled
        else None,
        "market_bid": mid,
        "market_ask": mid + pip,
        "spread_pips": Decimal(1),
        "status": status.value,
        "rejection_reason": None
        if filled
        else (
            RejectionReason.ORDER_TIMEOUT if status is ExecutionStatus.EXPIRED else REJECTIONS[n % len(REJECTIONS)]
        ).value,
        "rejection_details": None if filled else "seeded",
        "decision_status": "APPROVED",
        "broker": "sim",
        "attempts": 1,
        "fill_count": 1 if filled else 0,
        "confidence_score": Decimal("0.75"),
        "regime": "TRENDING",
        "risk_per_trade": Decimal(500),
        "model_version": "seed",
        "rpm_version": "seed",
        "execution_engine_version": __version__,
        "created_timestamp": at,
        "submission_timestamp": at,
        "fill_timestamp": at + timedelta(milliseconds=3) if filled else None,
        "cancel_requested_timestamp": None,
        "last_update_timestamp": at + timedelta(milliseconds=4),
    }
    request = {
        "request_id": request_id,
        "rpm_order_id": order_id,
        "execution_id": execution_id,
        "received_timestamp": at,
        "channel": "seed",
        "source": None,
        "decision_status": "APPROVED",
        "config_hash": "seed",
        "timeout_seconds": Decimal(60),
        "max_slippage_pips": None,
        "rpm_output_raw": "{}",
    }
    return log, request


def seed_store(
    db: Database,
    signer: AuditSigner,
    count: int,
    *,
    days: int = 365,
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Append `count` executions spread over the last `days`, each with one audit event and, when
    filled, its TCA."""
    rng = random.Random(20251223)
    marks = random.Random(20251224)  # a stream of its own: the executions seeded stay as they were
    start = datetime.now(UTC) - timedelta(days=days)
    step = timedelta(days=days) / max(count, 1)
    with db.write_transaction() as conn:
        last = conn.execute(audit_events.select().order_by(audit_events.c.seq.desc()).limit(1)).first()
        # Numbered on from the executions seeded before (their ids are the number): a store grows.
        seeded = conn.execute(
            select(func.count()).select_from(execution_logs).where(execution_logs.c.execution_id.like("exec_seed%"))
        ).scalar_one()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    for first in range(seeded, seeded + count, batch):
        logs, requests, events, tcas = [], [], [], []
        for n in range(first, min(seeded + count, first + batch)):
            at = start + step * (n - seeded)
            log, request = seed_row(n, at, rng)
            logs.append(log)
            requests.append(request)
            if log["fill_price"] is not None:
                _mid, digits = SYMBOLS[log["symbol"]]
                tcas.append(_tca(log, Decimal(1).scaleb(-(digits - 1)), marks))
            seq += 1
            ev = signer.make(seq, at, AuditEventType.SEEDED, log["execution_id"], {"status": log["status"]}, prev)
            prev = ev.hash
            events.append(ev.__dict__)
        with db.write_transaction() as conn:
            conn.execute(insert(execution_requests), requests)
            conn.execute(insert(execution_logs), logs)
            conn.execute(insert(execution_tca), tcas)
            conn.execute(insert(audit_events), events)
        if progress is not None:
            progress(min(count, first + batch))
