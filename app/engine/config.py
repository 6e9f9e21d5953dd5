"""The engine's knobs, with docs/DESIGN.md's defaults (tests shrink the delays to milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.domain.retry import RetryPolicy


class PartialFillPolicy(StrEnum):
    ACCEPT = "accept"  # step 7, option A: keep the partial fill, flag it for the trader
    COMPLETE = "complete"  # option B: send up to N more orders for the remainder


@dataclass(frozen=True)
class EngineConfig:
    order_timeout_s: float = 60.0  # step 5: a resting order not filled by then is EXPIRED
    poll_interval_s: float = 0.5
    max_retries: int = 3  # network failures retried after the first attempt
    backoff_initial_s: float = 1.0  # 1 s, 2 s, 4 s ...
    backoff_factor: float = 2.0
    max_requotes: int = 3
    max_spread_pips: Decimal = Decimal(3)
    margin_cushion: Decimal = Decimal("0.20")  # free margin must cover required margin × (1 + cushion)
    max_tick_age_s: float = 30.0  # an older quote is not market data
    max_price_deviation_pct: Decimal = Decimal(1)  # market mid vs the RPM's intended price
    max_slippage_pips: Decimal | None = None  # step 6's optional threshold
    partial_fill_policy: PartialFillPolicy = PartialFillPolicy.ACCEPT
    max_completion_orders: int = 2
    max_in_flight: int = 64
    reconcile_after_s: float = 30.0  # a SUBMITTED execution older than this is looked up at the broker
    reconcile_interval_s: float = 5.0
    position_check_interval_s: float = 30.0  # the broker's positions against the recorded fills

    @property
    def retry(self) -> RetryPolicy:
        """Step 4's network retries and the reconciliation by tag share this policy."""
        return RetryPolicy(self.backoff_initial_s, self.backoff_factor, max_attempts=self.max_retries)

    def backoff(self, attempt: int) -> float:
        """Delay before retry number `attempt` (1-based)."""
        return self.retry.delay(attempt)
