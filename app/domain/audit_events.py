"""Every audit event name the trail holds. Stored events keep these names: values never change."""

from __future__ import annotations

from enum import StrEnum


class AuditEventType(StrEnum):
    # an execution's steps (DESIGN §3)
    RECEIVED = "RECEIVED"
    DUPLICATE_RECEIVED = "DUPLICATE_RECEIVED"
    VALIDATED = "VALIDATED"
    ORDER_SENT = "ORDER_SENT"
    REQUOTE = "REQUOTE"
    NETWORK_ERROR = "NETWORK_ERROR"
    BROKER_REJECTED = "BROKER_REJECTED"
    SUBMITTED = "SUBMITTED"
    POLL_FAILED = "POLL_FAILED"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    UNCERTAIN = "UNCERTAIN"
    TCA_ARRIVAL = "TCA_ARRIVAL"  # the fill's arrival mid, spread and slippage against the mid (app.domain.tca)
    MARKOUT = "MARKOUT"  # one mark-out, as sampled after the fill or found in tick history, or missing
    RECORDED = "RECORDED"  # a write that names no step of its own
    # reconciliation with the broker
    RECONCILED = "RECONCILED"
    RECONCILE_FAILED = "RECONCILE_FAILED"
    LATE_FILL = "LATE_FILL"
    UNRECORDED_DEAL = "UNRECORDED_DEAL"
    UNATTRIBUTED_DEAL = "UNATTRIBUTED_DEAL"
    POSITION_MISMATCH = "POSITION_MISMATCH"
    POSITION_MISMATCH_CLEARED = "POSITION_MISMATCH_CLEARED"
    # the trader's cancellations
    CANCEL_APPROVED = "CANCEL_APPROVED"
    CANCEL_FAILED = "CANCEL_FAILED"
    CANCEL_RESULT = "CANCEL_RESULT"
    # the console
    HALT = "HALT"
    RESUME = "RESUME"
    ALERT_ACK = "ALERT_ACK"
    # inputs refused, and the tools' own records
    INPUT_INVALID = "INPUT_INVALID"
    BENCH_COMMIT_PROBE = "BENCH_COMMIT_PROBE"
    SEEDED = "SEEDED"
