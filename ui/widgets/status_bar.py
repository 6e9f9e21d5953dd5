"""The status bar: which broker and whether it answers, the database, the API, the inbox, the version."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app import __version__
from ui import formatting as fmt
from ui.broker_view import BrokerView


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
        self._broker_name, self._broker_why = "", "starting…"
        self.show_broker(None)

    def set_broker(self, name: str, why: str) -> None:
        """Which broker the console chose, and why (the tooltip)."""
        self._broker_name, self._broker_why = name, why
        self.show_broker(None)

    def show_broker(self, view: BrokerView | None) -> None:
        """The last probe: connected, lost its trade server, or not answering (reconnecting: attempt, since)."""
        broker = self._broker_name.upper() or "broker"
        if view is None:
            state, text = "unknown", f"○ {broker} connecting…"
        elif view.connected:
            why = self._broker_why.split(": ", 1)[-1]  # "chosen by --broker sim": the trader sees it is the simulator
            state, text = "ok", f"● {broker} connected" + (f" ({why})" if why else "")
        elif view.connected is False:
            state, text = "bad", f"● {broker} DISCONNECTED ({view.detail})"
        elif view.reconnecting and view.link is not None:
            since = fmt.local_time(view.link.since, with_date=False)
            state, text = "bad", f"○ {broker} not answering: reconnect attempt {view.link.attempts}, since {since}"
        else:
            state, text = "bad", f"○ {broker} not answering"
        self.broker.setProperty("state", state)
        self.broker.style().unpolish(self.broker)
        self.broker.style().polish(self.broker)
        self.broker.setText(text)
        tip = [self._broker_why] + ([view.detail] if view is not None else [])
        self.broker.setToolTip(escape("\n".join(tip)))

    def show_not_started(self, why: str) -> None:
        """The engine never started: no broker is connecting, whatever the last label said."""
        self.broker.setProperty("state", "bad")
        self.broker.style().unpolish(self.broker)
        self.broker.style().polish(self.broker)
        self.broker.setText("● engine not started")
        self.broker.setToolTip(escape(why))

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
