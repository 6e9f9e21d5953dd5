"""The status bar: which broker and whether it answers, the database, the API, the inbox, the version."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app import __version__
from ui import formatting as fmt


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setContentsMargins(6, 0, 6, 0)
    return label


class ConsoleStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.broker = _label("brokerStatus")
        self.database = _label("databaseStatus")
        self.api = _label("apiStatus")
        self.inbox = _label("inboxStatus")
        self.version = _label("versionStatus")
        self.version.setText(f"engine {__version__}")
        for label in (self.broker, self.database, self.api, self.inbox):
            self.addPermanentWidget(label)
        self.addPermanentWidget(self.version)
        self._broker_name, self._broker_why = "", ""
        self.set_broker("", None, "starting…")

    def set_broker(self, name: str, connected: bool | None, why: str | None = None) -> None:
        if name:
            self._broker_name = name
        if why is not None:
            self._broker_why = why
        if connected is None:
            dot, state = "○", "not answering" if self._broker_name else "connecting…"
        else:
            dot, state = ("●", "connected") if connected else ("●", "DISCONNECTED")
        self.broker.setProperty("state", "unknown" if connected is None else ("ok" if connected else "bad"))
        self.broker.style().unpolish(self.broker)
        self.broker.style().polish(self.broker)
        broker = self._broker_name.upper() or "broker"
        why = self._broker_why.split(": ", 1)[-1] if self._broker_name else ""
        self.broker.setText(f"{dot} {broker} {state}" + (f" ({why})" if why else ""))
        self.broker.setToolTip(escape(self._broker_why))

    def set_database(self, url: str) -> None:
        masked = fmt.masked_url(url)
        self.database.setText(f"DB {masked.rsplit('/', 1)[-1] if masked.startswith('sqlite') else masked}")
        self.database.setToolTip(masked)

    def set_api(self, url: str | None, token: str | None) -> None:
        self.api.setText(f"API {url}" if url else "API off")
        self.api.setToolTip(f"Bearer token: {token}" if token else "")

    def set_inbox(self, folder: str | None) -> None:
        self.inbox.setText(f"Inbox {folder}" if folder else "Inbox off")
        self.inbox.setToolTip(folder or "start with --inbox DIR to take RPMOutputs from a folder")
