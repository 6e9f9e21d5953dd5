"""One console per data dir: a second one brings the running window forward and exits.

A lock file in the data dir says who owns it (QLockFile notices a holder that died); a local socket
named after the data dir carries the "come forward" request to the owner's window.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import shiboken6
from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

LOCK_FILE = "console.lock"
RAISE = b"raise\n"


def instance_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.expanduser().resolve()).encode()).hexdigest()[:20]
    return f"fx-execution-console-{digest}"


class SingleInstance(QObject):
    activated = Signal()  # another console asked this one to come forward

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = instance_name(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(data_dir / LOCK_FILE))
        self._lock.setStaleLockTime(0)  # only a dead holder's lock is stale, never a slow one's
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when this process now owns the data dir; False when another console does."""
        if not self._lock.tryLock(0):
            return False
        server = QLocalServer(self)
        QLocalServer.removeServer(self.name)  # a socket left by a console that crashed
        if server.listen(self.name):
            server.newConnection.connect(self._on_connection)
            self._server = server
        return True

    def notify_running(self, timeout_ms: int = 1000) -> bool:
        """Ask the console that owns the data dir to bring its window forward."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(RAISE)
        socket.flush()
        socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return True

    def _on_connection(self) -> None:
        assert self._server is not None
        while (peer := self._server.nextPendingConnection()) is not None:
            peer.readyRead.connect(lambda peer=peer: self._read(peer))
            peer.disconnected.connect(peer.deleteLater)
            if peer.bytesAvailable():
                self._read(peer)

    def _read(self, peer: QLocalSocket) -> None:
        if RAISE.strip() in bytes(peer.readAll().data()):
            self.activated.emit()

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            # Now, on this thread: a server left to the garbage collector could be freed from a
            # worker thread with its socket notifier still registered.
            shiboken6.delete(self._server)
            self._server = None
        self._lock.unlock()
