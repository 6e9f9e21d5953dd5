"""The broker as the console shows it: the last probe, and the link supervisor's story."""

from __future__ import annotations

from dataclasses import dataclass

from app.adapters.broker.connection import LinkState, LinkStatus


@dataclass(frozen=True)
class BrokerView:
    """The broker as the status bar tells it: this refresh's probe, and the link supervisor's story."""

    connected: bool | None  # None: the terminal does not answer
    detail: str
    link: LinkStatus | None = None

    @property
    def reconnecting(self) -> bool:
        return self.connected is None and self.link is not None and self.link.state is LinkState.RECONNECTING
