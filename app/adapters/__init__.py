"""The venue: the broker protocol and its MetaTrader 5 adapter (`broker`), the MetaTrader5 package's
constants and records (`mt5`), and the simulator that stands in for the package (`sim`)."""
