"""The local HTTP API (docs/CONTRACT.md §4): FastAPI over the engine; served by app.host.service."""
