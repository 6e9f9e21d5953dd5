"""Slippage per execution in numpy buffers: what the charts draw, cheap to append and to filter.

The categories are docs/DESIGN.md's, by size either way: excellent <= 1 pip, good <= 3,
acceptable <= 5, poor > 5.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CATEGORIES = ("excellent", "good", "acceptable", "poor")
CATEGORY_LIMITS = (1.0, 3.0, 5.0)  # upper bounds of the first three, in pips (inclusive)
Floats = npt.NDArray[np.float64]


class SlippageSeries:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._t = np.empty(capacity, dtype=np.float64)  # fill time, epoch seconds
        self._slip = np.empty(capacity, dtype=np.float64)
        self._sym = np.empty(capacity, dtype=np.int16)
        self._n = 0
        self._codes: dict[str, int] = {}
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest are dropped first

    def __len__(self) -> int:
        return self._n

    @property
    def symbols(self) -> list[str]:
        return sorted(self._codes)

    def add(self, execution_id: str, t: float, slippage: float, symbol: str) -> bool:
        """One execution's slippage (each execution once); kept in time order."""
        if execution_id in self._ids:
            return False
        if self._n == self.capacity:  # keep the newer half: the charts are about now
            half = self.capacity // 2
            for a in (self._t, self._slip, self._sym):
                a[:half] = a[self._n - half : self._n]
            self._n = half
            self._ids = dict.fromkeys(list(self._ids)[-half:])
        code = self._codes.setdefault(symbol, len(self._codes))
        n = self._n
        at = n if n == 0 or t >= self._t[n - 1] else int(np.searchsorted(self._t[:n], t, side="right"))
        if at < n:  # a late fill: shift the newer ones by one
            for a in (self._t, self._slip, self._sym):
                a[at + 1 : n + 1] = a[at:n]
        self._t[at], self._slip[at], self._sym[at] = t, slippage, code
        self._n += 1
        self._ids[execution_id] = None
        return True

    def view(self, symbol: str | None = None) -> tuple[Floats, Floats]:
        """(times, slippages) of every execution, or of one symbol's."""
        t, slip = self._t[: self._n], self._slip[: self._n]
        if symbol is None:
            return t, slip
        code = self._codes.get(symbol)
        if code is None:
            return t[:0], slip[:0]
        mask = self._sym[: self._n] == code
        return t[mask], slip[mask]


def rolling_mean(values: Floats, window: int) -> Floats:
    """Mean of the last `window` values at each point (fewer at the start)."""
    if len(values) == 0:
        return values
    sums = np.cumsum(values)
    out = np.empty_like(sums)
    out[:window] = sums[:window] / np.arange(1, min(window, len(values)) + 1)
    if len(values) > window:
        out[window:] = (sums[window:] - sums[:-window]) / window
    return out


def category_counts(slippage: Floats) -> npt.NDArray[np.int64]:
    """How many executions fall in each category, by |slippage|."""
    size = np.abs(slippage)
    index = np.searchsorted(np.array(CATEGORY_LIMITS), size, side="left")
    return np.bincount(index, minlength=len(CATEGORIES)).astype(np.int64)
