"""The TCA table as the console shows it and exports it: one row per group, the same cells in both."""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from typing import TextIO

from app.domain.tca import HORIZONS_S, horizon_name
from app.store.tca_aggregates import MetricStats, TcaGroup

# (title, metric): the figures with count, mean and percentiles, as the table's columns name them.
STATS: tuple[tuple[str, str], ...] = (
    ("slippage", "slippage_pips"),
    ("vs arrival", "slippage_vs_arrival_pips"),
    *((f"mark-out {horizon_name(h)}", f"markout_{horizon_name(h)}_pips") for h in HORIZONS_S),
)
HEADERS: tuple[str, ...] = (
    "group",
    "executions",
    "sent",
    "filled",
    "fill ratio",
    "spread paid",
    *(f"{title} {part}" for title, _ in STATS for part in ("n", "mean", "p50", "p90")),
)
Z95 = 1.96  # the normal quantile of a two-sided 95 % band


def _cell(value: Decimal | int | None) -> str:
    return "" if value is None else format(value, "f") if isinstance(value, Decimal) else str(value)


def _stats_cells(stats: MetricStats) -> list[str]:
    return [str(stats.count), _cell(stats.mean), _cell(stats.p50), _cell(stats.p90)]


def rows(groups: list[TcaGroup]) -> list[list[str]]:
    out = []
    for g in groups:
        cells = [g.group, str(g.executions), str(g.sent), str(g.filled), _cell(g.fill_ratio), _cell(g.spread_pips_mean)]
        for _, metric in STATS:
            cells += _stats_cells(g.metrics[metric])
        out.append(cells)
    return out


def write_csv(groups: list[TcaGroup], out: TextIO) -> int:
    """The table as CSV, header first; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    table = rows(groups)
    writer.writerows(table)
    return len(table)


def markout_curve(group: TcaGroup) -> tuple[list[float], list[float], list[float], list[float]]:
    """(horizons in s, means, band low, band high) over the horizons with a mean, for a chart only:
    mean ± 1.96 · stdev / √n, the band of the mean (the mean alone where there is one mark-out)."""
    xs, means, low, high = [], [], [], []
    for h in HORIZONS_S:
        s = group.metrics[f"markout_{horizon_name(h)}_pips"]
        if s.mean is None:
            continue
        half = Z95 * float(s.stdev) / math.sqrt(s.count) if s.stdev is not None else 0.0
        xs.append(float(h))
        means.append(float(s.mean))
        low.append(float(s.mean) - half)
        high.append(float(s.mean) + half)
    return xs, means, low, high
