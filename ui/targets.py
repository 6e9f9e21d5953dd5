"""docs/DESIGN.md's targets and alert thresholds as the console colours a figure: on target (green), off
target but short of an alert (amber), past the alert's threshold (red). One place, so that the metrics
tiles and the slippage chart never disagree."""

from __future__ import annotations

from enum import Enum

from PySide6.QtGui import QColor

from app.domain.contracts import ExecutionStatus
from app.engine.metrics import AlertRules
from ui.theme import StatusPalette

RULES = AlertRules()
SUCCESS_TARGET = f"target > {RULES.target_success_rate * 100:g} %"
SLIPPAGE_TARGET = f"target < {RULES.target_avg_slippage_pips:g} pips"


class Grade(Enum):
    ON_TARGET = "on target"
    OFF_TARGET = "off target"
    ALERT = "alert"


def success_grade(rate: float | None) -> Grade | None:
    if rate is None:
        return None
    if rate < RULES.min_success_rate:
        return Grade.ALERT
    return Grade.ON_TARGET if rate > RULES.target_success_rate else Grade.OFF_TARGET


def slippage_grade(avg_abs_pips: float | None) -> Grade | None:
    """Graded on the average |slippage|, as the alert is: fills either way must not cancel out."""
    if avg_abs_pips is None:
        return None
    if avg_abs_pips > RULES.max_avg_slippage_pips:
        return Grade.ALERT
    return Grade.ON_TARGET if avg_abs_pips < RULES.target_avg_slippage_pips else Grade.OFF_TARGET


def grade_colour(grade: Grade | None, palette: StatusPalette) -> QColor | None:
    """The blotter's own colours: filled green, partially filled amber, rejected red."""
    status = {
        Grade.ON_TARGET: ExecutionStatus.FILLED,
        Grade.OFF_TARGET: ExecutionStatus.PARTIALLY_FILLED,
        Grade.ALERT: ExecutionStatus.REJECTED,
    }
    return None if grade is None else palette.text[status[grade]]
