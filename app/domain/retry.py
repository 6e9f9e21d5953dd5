"""The one back-off policy: submitting an order, reconciling it by tag and reconnecting the terminal.

Exponential delays (1 s, 2 s, 4 s … by default, DESIGN §3 step 4), capped at `max_delay_s`; after
`max_attempts` retries the caller gives up (the link supervisor never does: it has no bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    initial_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = math.inf
    max_attempts: float = math.inf  # retries after the first attempt

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based)."""
        return float(min(self.max_delay_s, self.initial_s * self.factor ** max(0, attempt - 1)))

    def exhausted(self, failures: int) -> bool:
        """True once `failures` failed attempts leave no retry."""
        return failures > self.max_attempts
