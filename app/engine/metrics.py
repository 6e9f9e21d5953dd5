"""docs/DESIGN.md's metrics and alert rules, computed from the store so they survive a restart.

Every figure is given for four windows: the last 15 minutes, the last hour, today (since local midnight)
and all time. Each alert rule looks at its own window and fires only on a minimum sample, so a collapse
in the last hour fires on a store of a million executions, a handful of early misses fires nothing, and
an alert clears once its window has moved past what raised it.

Success and failure rates count what the engine was asked to execute: an RPM rejection is recorded
and counted in the totals and by reason, but it is upstream's decision, not an execution failure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import utcnow
from app.store.metrics_queries import WindowCounts
from app.store.repository import ExecutionStore

S, R = ExecutionStatus, RejectionReason

WINDOWS = ("15m", "1h", "today", "all")
RECENT, HOUR, TODAY, ALL = WINDOWS
RECENT_SPAN, HOUR_SPAN = timedelta(minutes=15), timedelta(hours=1)


def window_starts(now: datetime) -> dict[str, datetime | None]:
    """Where each window begins as the clock stands at `now` (None: all time). Today is the local day."""
    midnight = now.astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return {RECENT: now - RECENT_SPAN, HOUR: now - HOUR_SPAN, TODAY: midnight, ALL: None}


@dataclass(frozen=True)
class AlertRules:
    min_success_rate: float = 0.90  # over the last hour
    min_sample: int = 20  # final executions in the hour before the success rate can alert
    max_avg_slippage_pips: float = 5.0  # average |slippage| over the last hour
    min_slippage_sample: int = 5  # fills in the hour before the slippage can alert
    max_rejections_per_hour: int = 10
    # docs/DESIGN.md's targets: what the console colours a figure by, short of an alert
    target_success_rate: float = 0.95
    target_avg_slippage_pips: float = 2.0


@dataclass(frozen=True)
class Alert:
    rule: str
    severity: str  # "warning" | "critical"
    message: str


@dataclass
class WindowMetrics:
    total_executions: int = 0
    successful_executions: int = 0
    failed_executions: int = 0
    success_rate: float | None = None  # filled / final executions
    avg_slippage_pips: float | None = None  # signed, + is worse
    avg_abs_slippage_pips: float | None = None
    avg_adverse_slippage_pips: float | None = None  # improvements count as 0
    fills_with_slippage: int = 0
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    rejections: int = 0  # rejected by the engine or the broker (RPM rejections excluded)
    rejection_rate: float | None = None  # rejections / executions asked
    timeout_rate: float | None = None  # expired / final executions
    network_errors: int = 0
    network_error_rate: float | None = None  # executions that met a network error / executions asked
    latency_ms: dict[str, float | None] = field(default_factory=lambda: {"p50": None, "p95": None, "p99": None})
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def final_executions(self) -> int:
        """The success rate's denominator: executions that reached a final state, RPM rejections excluded."""
        done = (S.FILLED, S.REJECTED, S.EXPIRED, S.PARTIALLY_FILLED, S.CANCELLED)
        return sum(self.by_status.get(s.value, 0) for s in done) - self.rejections_by_reason.get(
            R.RPM_REJECTED.value, 0
        )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Metrics(WindowMetrics):
    """All time at the top level (the contract's keys), each window in `windows`."""

    windows: dict[str, WindowMetrics] = field(default_factory=dict)
    active_alerts: list[Alert] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("windows", "active_alerts")}
        data["windows"] = {name: w.as_json() for name, w in self.windows.items()}
        data["active_alerts"] = [a.__dict__ for a in self.active_alerts]
        return data


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile (1–99) of sorted values, None for none."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    return statistics.quantiles(sorted_values, n=100, method="inclusive")[int(q) - 1]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _compute(counts: WindowCounts, m: WindowMetrics) -> None:
    m.by_status = counts.by_status
    m.total_executions = sum(m.by_status.values())
    m.rejections_by_reason = counts.rejections_by_reason
    rpm_rejected = m.rejections_by_reason.get(R.RPM_REJECTED.value, 0)
    asked = m.total_executions - rpm_rejected
    m.successful_executions = m.by_status.get(S.FILLED.value, 0)
    m.rejections = m.by_status.get(S.REJECTED.value, 0) - rpm_rejected
    m.failed_executions = m.rejections + m.by_status.get(S.EXPIRED.value, 0)
    final = m.final_executions
    m.success_rate = _ratio(m.successful_executions, final)
    m.timeout_rate = _ratio(m.rejections_by_reason.get(R.ORDER_TIMEOUT.value, 0), final)
    m.rejection_rate = _ratio(m.rejections, asked)
    m.avg_slippage_pips = _round(counts.avg_slippage)
    m.avg_abs_slippage_pips = _round(counts.avg_abs_slippage)
    m.avg_adverse_slippage_pips = _round(counts.avg_adverse_slippage)
    m.fills_with_slippage = counts.fills_with_slippage
    m.network_errors = counts.network_errors
    m.network_error_rate = _ratio(counts.executions_with_network_errors, asked)
    m.latency_ms = {f"p{q}": _round(percentile(counts.latencies_ms, q)) for q in (50, 95, 99)}


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def _success_rate_alert(hour: WindowMetrics, rules: AlertRules) -> Alert | None:
    rate = hour.success_rate
    if rate is None or hour.final_executions < rules.min_sample or rate >= rules.min_success_rate:
        return None
    return Alert(
        "success_rate_low",
        "critical",
        f"success rate {rate:.1%} < {rules.min_success_rate:.0%} over the last hour "
        f"({hour.successful_executions} of {hour.final_executions} filled)",
    )


def _slippage_alert(hour: WindowMetrics, rules: AlertRules) -> Alert | None:
    size = hour.avg_abs_slippage_pips
    if size is None or hour.fills_with_slippage < rules.min_slippage_sample or size <= rules.max_avg_slippage_pips:
        return None
    return Alert(
        "slippage_high",
        "warning",
        f"average |slippage| {size} pips > {rules.max_avg_slippage_pips} pips over the last hour "
        f"(adverse {hour.avg_adverse_slippage_pips} pips, over {hour.fills_with_slippage} fills)",
    )


def alerts(
    windows: dict[str, WindowMetrics],
    rules: AlertRules,
    *,
    broker_connected: bool,
    recent_database_errors: int,
) -> list[Alert]:
    """docs/DESIGN.md's alert rules, each over its own window, most severe first."""
    hour, recent = windows[HOUR], windows[RECENT]
    out: list[Alert] = []
    if not broker_connected:
        out.append(Alert("broker_connection_lost", "critical", "the broker terminal is not connected"))
    if recent_database_errors:
        out.append(
            Alert("database_errors", "critical", f"{recent_database_errors} store commit(s) failed in the last 15 min")
        )
    out += [a for a in (_success_rate_alert(hour, rules), _slippage_alert(hour, rules)) if a is not None]
    if hour.rejections > rules.max_rejections_per_hour:
        rate = f" ({hour.rejection_rate:.0%} of executions)" if hour.rejection_rate is not None else ""
        out.append(
            Alert(
                "rejections_high",
                "warning",
                f"{hour.rejections} rejections in the last hour > {rules.max_rejections_per_hour}{rate}",
            )
        )
    if recent.network_errors:
        out.append(Alert("network_errors", "warning", f"{recent.network_errors} network errors in the last 15 min"))
    return out


async def compute_metrics(
    store: ExecutionStore,
    *,
    broker_connected: bool,
    rules: AlertRules | None = None,
    extra_alerts: Sequence[Alert] = (),
    now: datetime | None = None,
) -> Metrics:
    """The metrics and the alerts firing as the clock stands at `now` (default: the time of the call): the
    rules' own and `extra_alerts` (raised elsewhere, such as the position reconciliation's), critical first."""
    rules = rules or AlertRules()
    now = now or utcnow()
    starts = window_starts(now)
    counts = await store.metric_counts(starts)
    m = Metrics()
    _compute(counts[ALL], m)
    m.windows = {name: WindowMetrics() for name in WINDOWS}
    for name, window in m.windows.items():
        _compute(counts[name], window)
    firing = alerts(
        m.windows,
        rules,
        broker_connected=broker_connected,
        recent_database_errors=store.writer.failed_commits_since(now - RECENT_SPAN),
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
    per_window = (
        ("success_rate", "Filled / final executions, by window.", "success_rate"),
        ("avg_abs_slippage_pips", "Average |slippage| in pips, by window.", "avg_abs_slippage_pips"),
        (
            "avg_adverse_slippage_pips",
            "Average adverse slippage in pips (improvements as 0), by window.",
            "avg_adverse_slippage_pips",
        ),
        ("rejection_rate", "Rejections / executions asked (RPM rejections excluded), by window.", "rejection_rate"),
        (
            "network_error_rate",
            "Executions that met a network error / executions asked, by window.",
            "network_error_rate",
        ),
    )
    for name, help_text, attribute in per_window:
        metric(
            f"execution_window_{name}",
            "gauge",
            help_text,
            [(f'{{window="{w}"}}', getattr(window, attribute)) for w, window in m.windows.items()],
        )
    metric("execution_active_alerts", "gauge", "Alert rules currently firing.", [("", len(m.active_alerts))])
    metric(
        "execution_alert_firing",
        "gauge",
        "1 for each alert rule firing, by rule.",
        [(f'{{rule="{a.rule}"}}', 1) for a in m.active_alerts],
    )
    return "\n".join(lines) + "\n"
