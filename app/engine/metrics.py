"""docs/DESIGN.md's metrics and alert rules, computed from the store so they survive a restart.

Success and failure rates count what the engine was asked to execute: an RPM rejection is recorded
and counted in the totals and by reason, but it is upstream's decision, not an execution failure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import utcnow
from app.store.metrics_queries import MetricCounts
from app.store.repository import ExecutionStore

S, R = ExecutionStatus, RejectionReason


@dataclass(frozen=True)
class AlertRules:
    min_success_rate: float = 0.90
    min_sample: int = 20  # no success-rate alert on the first handful of executions
    max_avg_slippage_pips: float = 5.0
    max_rejections_per_hour: int = 10
    network_error_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Alert:
    rule: str
    severity: str  # "warning" | "critical"
    message: str


@dataclass
class Metrics:
    total_executions: int = 0
    successful_executions: int = 0
    failed_executions: int = 0
    success_rate: float | None = None
    avg_slippage_pips: float | None = None
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    timeout_rate: float | None = None
    network_errors: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=lambda: {"p50": None, "p95": None, "p99": None})
    by_status: dict[str, int] = field(default_factory=dict)
    active_alerts: list[Alert] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "active_alerts"}
        data["active_alerts"] = [a.__dict__ for a in self.active_alerts]
        return data


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile (1–99) of sorted values, None for none."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[int(q) - 1]


def _compute(counts: MetricCounts) -> Metrics:
    m = Metrics()
    m.by_status = counts.by_status
    m.total_executions = sum(m.by_status.values())
    m.rejections_by_reason = counts.rejections_by_reason
    rpm_rejected = m.rejections_by_reason.get(R.RPM_REJECTED.value, 0)
    m.successful_executions = m.by_status.get(S.FILLED.value, 0)
    m.failed_executions = m.by_status.get(S.REJECTED.value, 0) - rpm_rejected + m.by_status.get(S.EXPIRED.value, 0)
    final = m.successful_executions + m.failed_executions + m.by_status.get(S.PARTIALLY_FILLED.value, 0)
    final += m.by_status.get(S.CANCELLED.value, 0)
    if final:
        m.success_rate = m.successful_executions / final
        m.timeout_rate = m.rejections_by_reason.get(R.ORDER_TIMEOUT.value, 0) / final
    avg = counts.avg_slippage
    m.avg_slippage_pips = round(float(avg), 2) if avg is not None else None
    m.network_errors = counts.network_errors
    m.latency_ms = {f"p{q}": _round(percentile(counts.latencies_ms, q)) for q in (50, 95, 99)}
    return m


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def alerts(
    m: Metrics,
    rules: AlertRules,
    *,
    recent_rejections: int,
    recent_network_errors: int,
    broker_connected: bool,
    database_errors: int,
) -> list[Alert]:
    """docs/DESIGN.md's alert rules, most severe first."""
    out: list[Alert] = []
    if not broker_connected:
        out.append(Alert("broker_connection_lost", "critical", "the broker terminal is not connected"))
    if database_errors:
        out.append(Alert("database_errors", "critical", f"{database_errors} store commit(s) failed"))
    attempted = m.successful_executions + m.failed_executions
    if m.success_rate is not None and attempted >= rules.min_sample and m.success_rate < rules.min_success_rate:
        out.append(
            Alert("success_rate_low", "critical", f"success rate {m.success_rate:.1%} < {rules.min_success_rate:.0%}")
        )
    if m.avg_slippage_pips is not None and m.avg_slippage_pips > rules.max_avg_slippage_pips:
        out.append(
            Alert(
                "slippage_high",
                "warning",
                f"average slippage {m.avg_slippage_pips} pips > {rules.max_avg_slippage_pips} pips",
            )
        )
    if recent_rejections > rules.max_rejections_per_hour:
        out.append(
            Alert(
                "rejections_high",
                "warning",
                f"{recent_rejections} rejections in the last hour > {rules.max_rejections_per_hour}",
            )
        )
    if recent_network_errors:
        minutes = int(rules.network_error_window.total_seconds() // 60)
        out.append(
            Alert("network_errors", "warning", f"{recent_network_errors} network errors in the last {minutes} min")
        )
    return out


async def compute_metrics(
    store: ExecutionStore,
    *,
    broker_connected: bool,
    rules: AlertRules | None = None,
    extra_alerts: Sequence[Alert] = (),
) -> Metrics:
    """The metrics and the alerts firing: the rules' own and `extra_alerts` (raised elsewhere, such as the
    position reconciliation's), the critical ones first."""
    rules = rules or AlertRules()
    now = utcnow()
    counts = await store.metric_counts(
        since_hour=now - timedelta(hours=1), since_network=now - rules.network_error_window
    )
    m = _compute(counts)
    firing = alerts(
        m,
        rules,
        recent_rejections=counts.recent_rejections,
        recent_network_errors=counts.recent_network_errors,
        broker_connected=broker_connected,
        database_errors=store.writer.failed_commits,
    )
    m.active_alerts = sorted([*firing, *extra_alerts], key=lambda a: a.severity != "critical")
    return m


def prometheus_text(m: Metrics) -> str:
    """The text exposition format (version 0.0.4)."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float | int | Decimal | None]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {'NaN' if value is None else float(value)!r}")

    metric(
        "execution_total",
        "gauge",
        "Executions recorded, by status.",
        [(f'{{status="{s}"}}', n) for s, n in sorted(m.by_status.items())] or [("", 0)],
    )
    metric(
        "execution_success_rate",
        "gauge",
        "Filled / final executions (RPM rejections excluded).",
        [("", m.success_rate)],
    )
    metric("execution_avg_slippage_pips", "gauge", "Average signed slippage in pips.", [("", m.avg_slippage_pips)])
    metric(
        "execution_rejections",
        "gauge",
        "Rejected or expired executions, by reason.",
        [(f'{{reason="{r}"}}', n) for r, n in sorted(m.rejections_by_reason.items())] or [("", 0)],
    )
    metric("execution_timeout_rate", "gauge", "Share of final executions that expired.", [("", m.timeout_rate)])
    metric("execution_network_errors", "gauge", "Network errors met while sending orders.", [("", m.network_errors)])
    metric(
        "execution_latency_ms",
        "gauge",
        "Processing latency percentiles, milliseconds.",
        [(f'{{quantile="0.{q[1:]}"}}', v) for q, v in m.latency_ms.items()],
    )
    metric("execution_active_alerts", "gauge", "Alert rules currently firing.", [("", len(m.active_alerts))])
    metric(
        "execution_alert_firing",
        "gauge",
        "1 for each alert rule firing, by rule.",
        [(f'{{rule="{a.rule}"}}', 1) for a in m.active_alerts],
    )
    return "\n".join(lines) + "\n"
