"""FX execution engine core, grouped so the architecture shows (docs/ARCHITECTURE.md has the map):
`domain` (what an execution is, the contract, audit), `engine` (the execution steps), `adapters` (broker,
MT5, simulator), `store` (storage), `interfaces` (API, inbox, CLI), `host` (settings, wiring), `tools`.

No Qt here: the console in `ui/` depends on this package, never the reverse.
"""

__version__ = "0.1.0"
