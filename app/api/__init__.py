"""The local HTTP API (CONTRACT §4): FastAPI over the engine; served by app.service."""
