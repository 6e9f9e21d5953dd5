"""Desktop notifications for what a trader looking elsewhere must know: critical alerts and rejections
(not the RPM's own: those are its decisions, passed on).

Shown through the system tray (QSystemTrayIcon), with an optional sound; both are switched in the
View menu and kept with the layout. Rejections that come in a burst are told as one notification.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution
from ui.alert_book import AlertEntry
from ui.formatting import side, units

DESKTOP_KEY = "notifications/desktop"
SOUND_KEY = "notifications/sound"
SHOW_MS = 10_000


def _flag(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    return value if isinstance(value, bool) else str(value).lower() == "true"  # INI files keep "true"


class DesktopNotifier(QObject):
    notified = Signal(str, str)  # title, message: a notification raised (shown, and heard if sound is on)

    BURST_MS = 1500  # rejections within this long of the first are told together

    def __init__(self, settings: QSettings, icon: QIcon, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.tray = QSystemTrayIcon(icon, self)
        self.tray.setToolTip(title)
        self.enabled = _flag(settings, DESKTOP_KEY, True)
        self.sound = _flag(settings, SOUND_KEY, False)
        self._told: set[str] = set()  # executions whose rejection was told (events repeat a final state)
        self._rejections: list[Execution] = []
        self._burst = QTimer(self, singleShot=True, interval=self.BURST_MS)
        self._burst.timeout.connect(self._tell_rejections)
        self._show_tray()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self.settings.setValue(DESKTOP_KEY, on)
        self._show_tray()

    def set_sound(self, on: bool) -> None:
        self.sound = on
        self.settings.setValue(SOUND_KEY, on)

    def _show_tray(self) -> None:
        self.tray.setVisible(self.enabled and QSystemTrayIcon.isSystemTrayAvailable())

    # ---- what is told ----------------------------------------------------------------------------
    def on_alerts(self, raised: list[AlertEntry]) -> None:
        """Alerts that just started firing: the critical ones are told."""
        critical = [e for e in raised if e.severity == "critical"]
        if critical:
            more = f" (+{len(critical) - 1} more)" if len(critical) > 1 else ""
            self._notify("Critical alert", critical[0].message + more, QSystemTrayIcon.MessageIcon.Critical)

    def on_execution(self, execution: Execution) -> None:
        if execution.status is not ExecutionStatus.REJECTED or execution.execution_id in self._told:
            return
        if execution.rejection_reason is RejectionReason.RPM_REJECTED:
            return  # the RPM's own decision, passed on: nothing went wrong here (nor in the alert rules)
        self._told.add(execution.execution_id)
        self._rejections.append(execution)
        if not self._burst.isActive():
            self._burst.start()

    def _tell_rejections(self) -> None:
        burst, self._rejections = self._rejections, []
        if not burst:
            return
        last = burst[-1]
        reason = last.rejection_reason.value if last.rejection_reason else "no reason given"
        order = f"{last.symbol} {side(last.direction)} {units(last.intended_units)}"
        what = f"{order if last.symbol else f'RPM order {last.rpm_decision_id}'}: {reason}"
        if len(burst) == 1:
            self._notify("Execution rejected", what, QSystemTrayIcon.MessageIcon.Warning)
        else:
            self._notify(f"{len(burst)} executions rejected", f"latest {what}", QSystemTrayIcon.MessageIcon.Warning)

    def _notify(self, title: str, message: str, icon: QSystemTrayIcon.MessageIcon) -> None:
        if not self.enabled:
            return
        if self.tray.isVisible():
            self.tray.showMessage(title, message, icon, SHOW_MS)
        if self.sound:
            QApplication.beep()
        self.notified.emit(title, message)
