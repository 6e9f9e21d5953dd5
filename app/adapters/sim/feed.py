"""The simulated price feed: every tick of every symbol, a deterministic function of the scenario.

The same scenario and random_seed give the same ticks, at any clock and across restarts, and no state is
kept but the quotes a test sets. Prices are whole points (integers) until they leave the simulator.

Ticks are made top down, so that a bar of any size is known without making the ticks under it and is
still exactly the first, highest, lowest and last bid of those ticks and their count:

- a UTC day opens at a level of seeded value noise around the scenario's bid (about 0.4 % a day,
  mean-reverting over a few months); the next day's open closes it;
- the day's 24 hours are a random bridge between the two: each hour gets an open, a close, a high and a
  low a little beyond them, and a tick count (busier in the London and New York hours);
- an hour's 60 minutes are a bridge from its open to its close kept within its high and low, the
  highest minute reaching the high and the lowest the low; the hour's ticks are shared among them;
- a minute's ticks (20 to a few hundred, one in each equal slice of the minute) are a bridge from its
  open to its close within its range, touching both ends of it. A tick carries bid and ask: its spread
  is the scenario's widened by up to half again, mostly by little; a bar's spread is its tightest.

Without random_walk nothing moves: the ticks keep the scenario's bid and ask. FX trades Sunday 22:00
to Friday 22:00 UTC: weekend hours have no ticks, except the weekend the clock is in, which trades as
the scenario's market_open says (so the simulator quotes on a Saturday). There are no ticks before
HISTORY_START, nor later than the clock less the symbol's tick_age_s. A quote set by a test (set_quote)
is a tick at that moment, and the feed moves on from it by the generated moves.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from app.adapters.sim.scenario import Scenario, SymbolSpec

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Index = slice | list[int] | Ints | npt.NDArray[np.bool_]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
HISTORY_START = 0  # 1970-01-01 00:00 UTC, MT5's earliest date: a broker's history begins somewhere

_WEEK = 604_800
WEEK_START = 3 * 86_400  # 1970-01-04 00:00 UTC, a Sunday: weeks begin on Sunday, as MT5's W1 bars
_OPEN = 22 * 3600  # Sunday 22:00 UTC, from the start of the week
_CLOSE = 5 * 86_400 + 22 * 3600  # Friday 22:00 UTC
_WEEKEND = _WEEK - _CLOSE + _OPEN

_DAY_SIGMA = 0.004  # a day's typical move, relative to the price
_OCTAVES = 6  # day levels: value noise over 1 .. 32 days
_LEVEL_SCALE = 0.85  # the noise's day-to-day step has a standard deviation of about 1.17
_EXCURSION = 0.5  # how far a bar's high or low may reach past its open and close, in its typical moves
_UNIT = math.sqrt(12)  # a uniform variable on [-0.5, 0.5) times this has a variance of 1
_TICKS_MIN = 20  # per minute: every open minute ticks, and four ticks are needed to show o/h/l/c
_TICKS_EXTRA = 80  # up to this many more per minute, scaled by the hour's activity
# by UTC hour: Sydney/Tokyo, London, London with New York, New York, the roll-over
_ACTIVITY = np.array((0.6,) * 7 + (1.2,) * 5 + (1.5,) * 5 + (1.0,) * 4 + (0.5,) * 3)

(_LEVEL, _HOUR_PATH, _HOUR_HIGH, _HOUR_LOW, _HOUR_TICKS, _MINUTE_PATH, _MINUTE_HIGH, _MINUTE_LOW) = range(8)
(_MINUTE_SHARE, _MINUTE_SPREAD, _TICK_TIME, _TICK_PATH, _TICK_SPREAD, _TICK_TIGHTEST) = range(8, 14)

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class Grain(Enum):
    """How coarsely pieces of the feed may come: whole hours, whole minutes, or ticks only."""

    HOUR = 1
    MINUTE = 2
    TICK = 3


class Bars(NamedTuple):
    """Pieces of the feed, one per element: a tick (n = 1), a minute or an hour, in whole points.

    `time` is the piece's first moment in ms (a tick's own time); `spread` the tightest of its ticks.
    """

    time: Ints
    open: Ints
    high: Ints
    low: Ints
    close: Ints
    n: Ints
    spread: Ints

    def pick(self, index: Index) -> Bars:
        return Bars(*(a[index] for a in self))

    @staticmethod
    def join(parts: list[Bars]) -> Bars:
        return Bars(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def reduce(pieces: Bars, slot: Ints) -> Bars:
    """Pieces in time order grouped by slot (non-decreasing): first open, highest high, lowest low, last
    close, summed counts, tightest spread. Bars are pieces too, so partial bars reduce again."""
    if not len(slot):
        return pieces
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    ends = np.r_[starts[1:], len(slot)] - 1
    return Bars(
        slot[starts],
        pieces.open[starts],
        np.maximum.reduceat(pieces.high, starts),
        np.minimum.reduceat(pieces.low, starts),
        pieces.close[ends],
        np.add.reduceat(pieces.n, starts),
        np.minimum.reduceat(pieces.spread, starts),
    )


# --- seeded noise -------------------------------------------------------------------------------------


def _mix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: every input bit moves every output bit."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _uniform(key: int, channel: int, *index: npt.ArrayLike) -> Floats:
    """Uniform on [0, 1), one per element of the broadcast indices; the same for the same arguments."""
    arrays = [np.atleast_1d(np.asarray(i, dtype=np.int64)).astype(np.uint64) for i in index]
    start = _mix(np.array([key ^ channel], dtype=np.uint64))
    z = np.broadcast_to(start, np.broadcast_shapes(*(a.shape for a in arrays)))
    for a in arrays:
        z = _mix(z ^ (a * _G))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _centred(key: int, channel: int, *index: npt.ArrayLike) -> Floats:
    """Zero mean, unit variance."""
    return (_uniform(key, channel, *index) - 0.5) * _UNIT


@dataclass(frozen=True)
class _Gen:
    """What a symbol's ticks are made from (hashable: the caches below are keyed by it)."""

    key: int
    bid: int  # the scenario's bid, in points
    spread: int  # the scenario's spread, in points
    step: float  # an hour's typical move in points; 0: the quote never moves
    widen: int  # how far a tick's spread may exceed the scenario's

    @staticmethod
    def of(spec: SymbolSpec, seed: int, walk: bool) -> _Gen:
        digest = hashlib.blake2b(f"{seed}:{spec.name}:feed".encode(), digest_size=8).digest()
        bid = int(spec.bid.scaleb(spec.digits))
        spread = int(spec.ask.scaleb(spec.digits)) - bid
        step = bid * _DAY_SIGMA / math.sqrt(24) if walk else 0.0
        return _Gen(int.from_bytes(digest, "big"), bid, spread, step, spread // 2 if walk else 0)


def _day_open(g: _Gen, days: Ints) -> Ints:
    if not g.step:
        return np.full(days.shape, g.bid, dtype=np.int64)
    level = np.zeros(days.shape)
    for k in range(_OCTAVES):
        period = 1 << k
        i = days // period
        f = (days - i * period) / period
        f = f * f * (3 - 2 * f)
        a = 2 * _uniform(g.key, _LEVEL, k, i) - 1
        b = 2 * _uniform(g.key, _LEVEL, k, i + 1) - 1
        level += math.sqrt(period) * (a + (b - a) * f)
    points: Ints = np.rint(g.bid * np.exp(_DAY_SIGMA * _LEVEL_SCALE * level)).astype(np.int64)
    return points


def _bridge(increments: Floats, frac: Floats) -> Floats:
    """A random walk pinned to 0 at both ends (rows: one walk each; increments of steps 1..n)."""
    walk = np.cumsum(increments, axis=-1)
    return walk - frac * walk[..., -1:]


def _hours_of_days(g: _Gen, days: Ints) -> Bars:
    """The 24 hours of each day, open or not (which hours trade is decided later)."""
    first, last = _day_open(g, days)[:, None], _day_open(g, days + 1)[:, None]
    steps = np.arange(1, 25)
    frac = steps / 24
    path = first + (last - first) * frac + g.step * _bridge(_centred(g.key, _HOUR_PATH, days[:, None], steps), frac)
    path = np.maximum(np.rint(np.concatenate([first, path], axis=1)), 1).astype(np.int64)
    hours = days[:, None] * 24 + np.arange(24)
    o, c = path[:, :-1], path[:, 1:]
    reach = _EXCURSION * g.step
    h = np.maximum(o, c) + np.rint(_uniform(g.key, _HOUR_HIGH, hours) * reach).astype(np.int64)
    low = np.maximum(np.minimum(o, c) - np.rint(_uniform(g.key, _HOUR_LOW, hours) * reach).astype(np.int64), 1)
    busy = 60 * _TICKS_EXTRA * _ACTIVITY[hours % 24]
    n = 60 * _TICKS_MIN + np.floor(_uniform(g.key, _HOUR_TICKS, hours) * busy).astype(np.int64)
    # an hour's tightest spread is the scenario's: one of its minutes quotes it
    spread = np.full(hours.shape, g.spread, dtype=np.int64)
    return Bars(*(a.ravel() for a in (hours * HOUR_MS, o, h, low, c, n, spread)))


def _hours_of(g: _Gen, hours: Ints) -> Bars:
    days, slot = np.unique(hours // 24, return_inverse=True)
    return _hours_of_days(g, days).pick(slot * 24 + hours % 24)


def _minutes_of(g: _Gen, hours: Bars) -> Bars:
    """The 60 minutes of each hour, within its range and reaching its high and low."""
    index = hours.time[:, None] // HOUR_MS
    rows = np.arange(len(index))
    steps = np.arange(1, 61)
    frac = steps / 60
    o, h, low, c = (a[:, None] for a in (hours.open, hours.high, hours.low, hours.close))
    step = g.step / math.sqrt(60)
    path = o + (c - o) * frac + step * _bridge(_centred(g.key, _MINUTE_PATH, index, steps), frac)
    path = np.clip(np.rint(np.concatenate([o.astype(np.float64), path], axis=1)), low, h).astype(np.int64)
    mo, mc = path[:, :-1], path[:, 1:]
    minutes = index * 60 + np.arange(60)
    reach = _EXCURSION * step
    mh = np.minimum(np.maximum(mo, mc) + np.rint(_uniform(g.key, _MINUTE_HIGH, minutes) * reach).astype(np.int64), h)
    ml = np.maximum(np.minimum(mo, mc) - np.rint(_uniform(g.key, _MINUTE_LOW, minutes) * reach).astype(np.int64), low)
    mh[rows, np.argmax(mh, axis=1)] = hours.high
    ml[rows, np.argmin(ml, axis=1)] = hours.low
    # the hour's ticks shared out: every minute its minimum, the rest by seeded weights, summing exactly
    share = np.cumsum(_uniform(g.key, _MINUTE_SHARE, minutes) + 0.1, axis=1)
    share = share / share[:, -1:]
    share[:, -1] = 1.0
    given = np.floor((hours.n[:, None] - 60 * _TICKS_MIN) * share).astype(np.int64)
    n = _TICKS_MIN + np.diff(given, axis=1, prepend=0)
    # a minute's tightest spread: mostly near the scenario's (cubed: skewed to 0), one minute exactly it
    tight = _uniform(g.key, _MINUTE_SPREAD, minutes)
    extra = np.floor(tight**3 * (g.widen + 1)).astype(np.int64)
    extra[rows, np.argmin(tight, axis=1)] = 0
    spread = hours.spread[:, None] + extra
    return Bars(*(a.ravel() for a in (minutes * MINUTE_MS, mo, mh, ml, mc, n, spread)))


def _ticks_of(g: _Gen, minutes: Bars) -> Bars:
    """The ticks of each minute: one in each equal slice of it, opening at its open and closing at its
    close, the highest and lowest inner ticks at its high and low."""
    counts = minutes.n
    starts = np.cumsum(counts) - counts
    ends = starts + counts - 1
    seg = np.repeat(np.arange(len(counts)), counts)
    j = np.arange(len(seg)) - starts[seg]
    n = counts[seg]
    index = minutes.time[seg] // MINUTE_MS
    lo, hi = j * MINUTE_MS // n, (j + 1) * MINUTE_MS // n
    time = minutes.time[seg] + lo + np.floor(_uniform(g.key, _TICK_TIME, index, j) * (hi - lo)).astype(np.int64)
    walk = np.cumsum(np.where(j > 0, _centred(g.key, _TICK_PATH, index, j), 0.0))
    walk -= walk[starts][seg]  # each minute's walk starts at 0 (its first increment is 0)
    frac = j / (n - 1)
    o, c = minutes.open[seg], minutes.close[seg]
    bridge = walk - frac * walk[ends][seg]
    step = g.step / math.sqrt(60) / np.sqrt(n)
    bid = np.clip(np.rint(o + (c - o) * frac + step * bridge), minutes.low[seg], minutes.high[seg]).astype(np.int64)
    inner = (j > 0) & (j < n - 1)
    top = np.lexsort((np.where(inner, bid, np.iinfo(np.int64).min), seg))[ends]
    bid[top] = minutes.high
    rank = np.where(inner, bid, np.iinfo(np.int64).max)
    rank[top] = np.iinfo(np.int64).max
    bid[np.lexsort((rank, seg))[starts]] = minutes.low
    least = minutes.spread[seg]
    # mostly near the minute's tightest, now and then up to the widest
    spread = least + np.floor(_uniform(g.key, _TICK_SPREAD, index, j) ** 3 * (g.spread + g.widen - least + 1))
    spread = spread.astype(np.int64)
    spread[starts + np.floor(_uniform(g.key, _TICK_TIGHTEST, minutes.time // MINUTE_MS) * counts).astype(np.int64)] = (
        minutes.spread
    )
    return Bars(time, bid, bid, bid, bid, np.ones(len(seg), dtype=np.int64), spread)


# The live quote asks for the same day, hour and minute over and over.
@lru_cache(maxsize=64)
def _day_hours(g: _Gen, day: int) -> Bars:
    return _hours_of_days(g, np.array([day]))


@lru_cache(maxsize=256)
def _hour_minutes(g: _Gen, hour: int) -> Bars:
    return _minutes_of(g, _day_hours(g, hour // 24).pick([hour % 24]))


@lru_cache(maxsize=1024)
def _minute_ticks(g: _Gen, minute: int) -> Bars:
    return _ticks_of(g, _hour_minutes(g, minute // 60).pick([minute % 60]))


def is_open(hours: Ints, now: float) -> npt.NDArray[np.bool_]:
    """Which hours (counted from the epoch) have ticks, as the clock stands at `now`."""
    start = hours * 3600
    pos = (start - WEEK_START) % _WEEK
    closed = (pos < _OPEN) | (pos >= _CLOSE)
    weekend = _live_weekend(now)
    if weekend is not None:
        # the weekend the clock is in trades: the scenario says the market is open
        closed &= (start < weekend) | (start >= weekend + _WEEKEND)
    result: npt.NDArray[np.bool_] = ~closed & (start >= HISTORY_START)
    return result


def _live_weekend(now: float) -> int | None:
    """When (s) the weekend the clock is in began; None on a weekday."""
    clock = math.floor(now)
    at = (clock - WEEK_START) % _WEEK
    return clock - (at - _CLOSE) % _WEEK if at < _OPEN or at >= _CLOSE else None


def _weekend_start(ms: int) -> int:
    """The ms at which the weekend holding `ms` began."""
    s = ms // 1000
    return (s - (s - WEEK_START - _CLOSE) % _WEEK) * 1000


@dataclass(frozen=True)
class _Segment:
    """A quote set by a test at `at` (ms): from then on the feed is that quote plus the generated moves."""

    at: int
    bid: int
    spread: int
    raw_bid: int  # the generated tick at `at`
    raw_spread: int

    def tick(self) -> Bars:
        one = np.array([1], dtype=np.int64)
        bid = one * self.bid
        return Bars(one * self.at, bid, bid, bid, bid, one, one * self.spread)

    def shown(self, raw: Bars) -> Bars:
        """Monotone in the raw prices and spreads, so that bars of shown ticks are shown bars."""
        floor = min(self.bid, 1)  # a quote set at zero stays there; a moving one stays positive

        def price(a: Ints) -> Ints:
            return np.maximum(self.bid + a - self.raw_bid, floor)

        if self.spread > 0:
            spread = np.maximum(self.spread + raw.spread - self.raw_spread, 1)
        else:  # a zero or crossed spread set on purpose stays so
            spread = np.full(raw.spread.shape, self.spread)
        return Bars(raw.time, price(raw.open), price(raw.high), price(raw.low), price(raw.close), raw.n, spread)


_CHUNK_HOURS = {Grain.HOUR: 24 * 366, Grain.MINUTE: 24 * 14, Grain.TICK: 24}  # bounds a batch's memory


class Feed:
    """The ticks of the scenario's symbols, and the quotes set over them (Market.set_quote)."""

    def __init__(self, scenario: Scenario) -> None:
        b = scenario.behaviour
        self._specs = scenario.symbols
        self._gens = {name: _Gen.of(spec, b.random_seed, b.random_walk) for name, spec in scenario.symbols.items()}
        self._segments: dict[str, list[_Segment]] = {}
        # per symbol: the last answer of last_tick, and the span of horizons [from, until) it holds for
        self._latest: dict[str, tuple[int, int, int | None, tuple[int, int, int]]] = {}

    def horizon(self, symbol: str, now: float) -> int:
        """The latest ms a tick of the symbol can have: a stale feed lags the clock by its tick age."""
        return math.floor((now - self._specs[symbol].tick_age_s) * 1000)

    def anchors(self, symbol: str) -> list[int]:
        """When quotes were set: each is a tick even where the generated feed has none."""
        return [s.at for s in self._segments.get(symbol, ())]

    def set_quote(self, symbol: str, bid: int, spread: int, now: float) -> None:
        at = math.floor(now * 1000)
        segments = [s for s in self._segments.get(symbol, ()) if s.at < at]
        raw = self._raw_last(symbol, at, now)
        g = self._gens[symbol]
        raw_bid, raw_spread = (int(raw.open[0]), int(raw.spread[0])) if raw else (g.bid, g.spread)
        self._segments[symbol] = [*segments, _Segment(at, bid, spread, raw_bid, raw_spread)]
        self._latest.pop(symbol, None)

    def last_tick(self, symbol: str, now: float) -> tuple[int, int, int]:
        """(ms, bid, spread) of the symbol's latest tick: the live quote. Before the history starts, the
        scenario's quote at the horizon."""
        t = self.horizon(symbol, now)
        weekend = _live_weekend(now)
        latest = self._latest.get(symbol)
        if latest is not None and latest[0] <= t < latest[1] and latest[2] == weekend:
            return latest[3]  # asked again before the next tick: the quote is asked for far more often
        segments = self._segments.get(symbol, [])
        raw = self._raw_last(symbol, t, now)
        anchors = self.anchors(symbol)
        k = bisect_right(anchors, t)
        if k:
            seg = segments[k - 1]
            raw = seg.tick() if raw is None or raw.time[0] <= seg.at else seg.shown(raw)
        if raw is None:
            g = self._gens[symbol]
            return t, g.bid, g.spread
        tick = int(raw.time[0]), int(raw.open[0]), int(raw.spread[0])
        until = min([self._raw_next(symbol, t, now), *anchors[k : k + 1]])
        self._latest[symbol] = (tick[0], until, weekend, tick)
        return tick

    def pieces(self, symbol: str, first: int, last: int, now: float, grain: Grain) -> Iterator[Bars]:
        """The ticks from `first` to `last` ms inclusive (none after the horizon), in time order, as
        batches of pieces no coarser than `grain`; a piece never crosses an hour or a minute boundary."""
        last = min(last, self.horizon(symbol, now))
        first = max(first, HISTORY_START * 1000)
        g = self._gens[symbol]
        segments: list[_Segment | None] = [None, *self._segments.get(symbol, ())]
        for seg, following in zip(segments, [*segments[1:], None], strict=True):
            start = first if seg is None else max(first, seg.at + 1)
            end = last + 1 if following is None else min(last + 1, following.at)
            if seg is not None and first <= seg.at <= last:
                yield seg.tick()
            for raw in self._raw_pieces(g, start, end, now, grain):
                yield raw if seg is None else seg.shown(raw)

    def _raw_pieces(self, g: _Gen, start: int, end: int, now: float, grain: Grain) -> Iterator[Bars]:
        """Generated ticks in [start, end) ms."""
        if start >= end:
            return
        first, last = -(-start // HOUR_MS), end // HOUR_MS  # the whole hours inside
        if first > last:
            yield from self._in_hour(g, start, end, now, grain)
            return
        yield from self._in_hour(g, start, first * HOUR_MS, now, grain)
        chunk = _CHUNK_HOURS[grain]
        for lo in range(first, last, chunk):
            hours = np.arange(lo, min(lo + chunk, last), dtype=np.int64)
            hours = hours[is_open(hours, now)]
            if len(hours):
                bars = _hours_of(g, hours)
                if grain is not Grain.HOUR:
                    bars = _minutes_of(g, bars)
                if grain is Grain.TICK:
                    bars = _ticks_of(g, bars)
                yield bars
        yield from self._in_hour(g, last * HOUR_MS, end, now, grain)

    def _in_hour(self, g: _Gen, start: int, end: int, now: float, grain: Grain) -> Iterator[Bars]:
        """Generated ticks in [start, end) ms, both within one hour."""
        if start >= end or not is_open(np.array([start // HOUR_MS]), now)[0]:
            return
        first, last = -(-start // MINUTE_MS), end // MINUTE_MS  # the whole minutes inside
        if first > last:
            yield from _ticks_between(g, start, end)
            return
        yield from _ticks_between(g, start, first * MINUTE_MS)
        if first < last:
            hour = start // HOUR_MS
            minutes = _hour_minutes(g, hour).pick(slice(first - hour * 60, last - hour * 60))
            yield _ticks_of(g, minutes) if grain is Grain.TICK else minutes
        yield from _ticks_between(g, last * MINUTE_MS, end)

    def _raw_next(self, symbol: str, t: int, now: float) -> int:
        """The generated feed's first tick after t ms, or the end of t's minute, whichever comes first."""
        end = (t // MINUTE_MS + 1) * MINUTE_MS
        if not is_open(np.array([t // HOUR_MS]), now)[0]:
            return end
        ticks = _minute_ticks(self._gens[symbol], t // MINUTE_MS)
        k = int(np.searchsorted(ticks.time, t, side="right"))
        return int(ticks.time[k]) if k < len(ticks.time) else end

    def _raw_last(self, symbol: str, t: int, now: float) -> Bars | None:
        """The generated feed's latest tick at or before t ms."""
        g = self._gens[symbol]
        while t >= HISTORY_START * 1000:
            if not is_open(np.array([t // HOUR_MS]), now)[0]:
                t = _weekend_start(t) - 1
                continue
            ticks = _minute_ticks(g, t // MINUTE_MS)
            k = int(np.searchsorted(ticks.time, t, side="right"))
            if k:
                return ticks.pick([k - 1])
            t = t // MINUTE_MS * MINUTE_MS - 1
        return None


def _ticks_between(g: _Gen, start: int, end: int) -> Iterator[Bars]:
    """The ticks in [start, end) ms, both within one minute of an open hour."""
    if start < end:
        ticks = _minute_ticks(g, start // MINUTE_MS)
        inside = (ticks.time >= start) & (ticks.time < end)
        if inside.any():
            yield ticks.pick(inside)
