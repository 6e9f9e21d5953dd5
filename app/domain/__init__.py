"""The domain: what an execution is, the external contract, the audit trail's events and hash chain,
exact numbers and their bounds, dates as users type them, and the retry policy. No I/O, no imports
from the rest of `app` (the layers contract in pyproject.toml holds it)."""
