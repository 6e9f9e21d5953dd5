"""The simulated MetaTrader 5 terminal and broker; open_terminal() gives it as the MetaTrader5 module."""

from app.adapters.sim.module import open_terminal

__all__ = ["open_terminal"]
