"""FX execution engine core: contracts, engine, broker adapters, store, intake, audit, CLI.

No Qt here: the console in `ui/` depends on this package, never the reverse.
"""

__version__ = "0.1.0"
