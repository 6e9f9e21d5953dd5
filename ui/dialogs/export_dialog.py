"""File → Export audit…: date range, symbol and statuses, a file, and a progress bar for big exports.

The export runs on a worker thread (ui.export_job): the window stays live, and Cancel stops it at the
next thousand rows, leaving no partial file behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.contracts import ExecutionStatus
from app.store.repository import ExecutionStore
from ui.export_job import ExportJob, ExportRequest, ExportResult
from ui.tasks import TaskSpawner

ALL_SYMBOLS = "All symbols"


def _day(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class ExportDialog(QDialog):
    progressed = Signal(int, int)  # rows, total — emitted from the worker thread, delivered queued
    export_finished = Signal(object)  # ExportResult

    def __init__(
        self,
        spawner: TaskSpawner,
        store: ExecutionStore,
        symbols: Iterable[str],
        default_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export audit trail")
        self.setMinimumWidth(600)
        self._spawner, self._store = spawner, store
        self._job: ExportJob | None = None
        self._task: asyncio.Task[ExportResult] | None = None
        today = datetime.now(UTC).date()
        week_ago = today - timedelta(days=6)
        self.first_day = QDateEdit(QDate(week_ago.year, week_ago.month, week_ago.day))
        self.last_day = QDateEdit(QDate(today.year, today.month, today.day))
        for edit in (self.first_day, self.last_day):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.symbol = QComboBox()
        self.symbol.addItem(ALL_SYMBOLS)
        self.symbol.addItems(sorted(set(symbols)))
        self.statuses: dict[ExecutionStatus, QCheckBox] = {s: QCheckBox(s.value) for s in ExecutionStatus}
        status_grid = QGridLayout()
        for i, box in enumerate(self.statuses.values()):
            status_grid.addWidget(box, i // 3, i % 3)
        self.path = QLineEdit(str(default_dir / f"executions-{today.isoformat()}.csv"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("From (UTC day)", self.first_day)
        form.addRow("To (UTC day, inclusive)", self.last_day)
        form.addRow("Symbol", self.symbol)
        form.addRow("Statuses (none: all)", status_grid)
        form.addRow("File", file_row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel("The same CSV as the command execution-engine export: one row per execution.")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.progressed.connect(self._on_progress)
        self._chooser: QFileDialog | None = None

    # ---- choosing ----------------------------------------------------------------------------------
    def _browse(self) -> None:
        chooser = QFileDialog(self, "Export to", str(Path(self.path.text()).parent), "CSV files (*.csv)")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setDefaultSuffix("csv")
        chooser.selectFile(Path(self.path.text()).name)
        chooser.fileSelected.connect(self.path.setText)
        self._chooser = chooser
        chooser.open()

    def request(self) -> ExportRequest:
        symbol = self.symbol.currentText()
        return ExportRequest(
            out=Path(self.path.text()).expanduser(),
            first_day=_day(self.first_day.date()),
            last_day=_day(self.last_day.date()),
            symbol=None if symbol == ALL_SYMBOLS else symbol,
            statuses=tuple(s for s, box in self.statuses.items() if box.isChecked()),
        )

    # ---- running -----------------------------------------------------------------------------------
    def start_export(self) -> None:
        req = self.request()
        if not self.path.text().strip():
            self.message.setText("Choose a file to export to.")
            return
        if req.last_day < req.first_day:
            self.message.setText("The last day is before the first.")
            return
        self._job = ExportJob(self._store, req)
        self.export_button.setEnabled(False)
        self.message.setText("Counting executions…")
        self._task = self._spawner.spawn(self._run(self._job), "exporting the audit trail")

    async def _run(self, job: ExportJob) -> ExportResult:
        loop = asyncio.get_running_loop()
        writing = loop.run_in_executor(None, job.run, self.progressed.emit)
        try:
            result = await asyncio.shield(writing)
        except asyncio.CancelledError:
            # The console is closing: the worker stops at its next thousand rows, before the store closes.
            job.cancel()
            await asyncio.wait([writing])
            raise
        except Exception as exc:
            self.message.setText(f"Export failed: {exc}")
            self.export_button.setEnabled(True)
            raise
        finally:
            self._job = None
        if result.cancelled:
            self.message.setText(f"Cancelled after {result.rows:,} of {result.total:,} rows; no file written.")
        else:
            self.progress.setRange(0, max(result.total, 1))
            self.progress.setValue(max(result.total, 1))
            self.message.setText(f"Exported {result.rows:,} executions to {result.path}")
            self.cancel_button.setText("Close")
        self.export_button.setEnabled(True)
        self.export_finished.emit(result)
        return result

    def _on_progress(self, rows: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(rows)
        self.message.setText(f"Exporting… {rows:,} of {total:,} rows")

    @property
    def running(self) -> bool:
        return self._job is not None

    def _cancel_or_close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.message.setText("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self._job is not None:
            self._job.cancel()  # closing the dialog never leaves an export running unseen
        super().reject()
