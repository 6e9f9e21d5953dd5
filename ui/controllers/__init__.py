"""What the window does with the engine: halting, monitoring, cancelling. Slots here never block:
engine-side work is awaited in tasks on the qasync loop."""

from __future__ import annotations

import getpass


def operator_name() -> str:
    """Who approves, for the audit trail: the OS user running the console."""
    try:
        return getpass.getuser()
    except Exception:  # no user name from the OS (a stripped container): still say something true
        return "console-operator"
