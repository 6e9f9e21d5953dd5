"""Broker traces: every call to the MetaTrader5 module and its answer, recorded on a desk and replayed
against the simulator (`recorder`, `replay`, `anonymize`; the line format in `format`)."""
