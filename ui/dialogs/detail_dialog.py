"""An execution's detail in a window of its own (double-click or Enter on a blotter row)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from app.domain.execution import Execution
from app.store.repository import ExecutionStore
from ui.tasks import TaskSpawner
from ui.widgets.execution_detail import ExecutionDetail


class ExecutionDetailDialog(QDialog):
    def __init__(self, spawner: TaskSpawner, store: ExecutionStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailDialog")
        self.setWindowTitle("Execution")
        self.resize(860, 720)
        self.detail = ExecutionDetail(spawner)
        self.detail.attach(store)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.detail)
        layout.addWidget(buttons)

    def show_execution(self, execution_id: str) -> None:
        self.setWindowTitle(f"Execution {execution_id}")
        self.detail.show_execution(execution_id)

    def on_execution(self, execution: Execution) -> None:
        self.detail.on_execution(execution)
