"""Bars, ticks and market depth of the simulated terminal, against the MetaTrader5 package's documentation.

The documentation's printed examples give the arrays' fields and types; its notes give the semantics:
copy_rates_from answers bars opening at or before date_from, copy_rates_range those opening within
[date_from, date_to], copy_rates_from_pos counts from the current bar (position 0) into the past, and
every answer is oldest first. Times are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from app.adapters.mt5 import constants
from app.adapters.sim.history import MAX_BARS
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000  # Tuesday 2023-11-14 22:13:20 UTC
FRIDAY_CLOSE = int(datetime(2023, 11, 10, 22, tzinfo=UTC).timestamp())
SUNDAY_OPEN = int(datetime(2023, 11, 12, 22, tzinfo=UTC).timestamp())
INVALID = (-2, "Terminal: Invalid params")
TIMEFRAMES = [name for name in dir(constants) if name.startswith("TIMEFRAME_")]
RATE_FIELDS = [
    ("time", "<i8"),
    ("open", "<f8"),
    ("high", "<f8"),
    ("low", "<f8"),
    ("close", "<f8"),
    ("tick_volume", "<u8"),
    ("spread", "<i4"),
    ("real_volume", "<u8"),
]
TICK_FIELDS = [
    ("time", "<i8"),
    ("bid", "<f8"),
    ("ask", "<f8"),
    ("last", "<f8"),
    ("volume", "<u8"),
    ("time_msc", "<i8"),
    ("flags", "<u4"),
    ("volume_real", "<f8"),
]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None, *, walk: bool = True, seed: int = 7, **overrides: Any) -> SimulatedTerminal:
    scenario = Scenario().with_overrides(behaviour={"random_walk": walk, "random_seed": seed}, **overrides)
    sim = SimulatedTerminal(scenario, clock=clock or Clock(), sleep=lambda s: None)
    assert sim.initialize()
    return sim


def answer(value: Any) -> np.ndarray:
    assert value is not None
    assert isinstance(value, np.ndarray)
    return value


def points(prices: np.ndarray, digits: int = 5) -> np.ndarray:
    return np.rint(prices * 10**digits).astype(np.int64)


# --- the arrays' shape ----------------------------------------------------------------------------


def test_rates_and_ticks_are_numpy_records_with_the_documented_fields() -> None:
    sim = make()
    rates = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 0, 10))
    ticks = answer(sim.copy_ticks_from("EURUSD", T0 - 60, 10, sim.COPY_TICKS_ALL))
    assert [(name, rates.dtype[name].str) for name in rates.dtype.names or ()] == RATE_FIELDS
    assert [(name, ticks.dtype[name].str) for name in ticks.dtype.names or ()] == TICK_FIELDS
    assert len(rates) == len(ticks) == 10


def test_ticks_are_fx_quotes_in_time_order() -> None:
    sim = make()
    ticks = answer(sim.copy_ticks_range("EURUSD", T0 - 3600, T0, sim.COPY_TICKS_ALL))
    assert len(ticks) > 3600 // 6  # a major ticks every few seconds at most
    assert np.all(np.diff(ticks["time_msc"]) > 0)
    assert np.all(ticks["time"] == ticks["time_msc"] // 1000)
    assert np.all(ticks["ask"] > ticks["bid"])
    assert np.all(np.diff(ticks["time_msc"]) <= 6000)
    assert set(ticks["flags"]) == {sim.TICK_FLAG_BID | sim.TICK_FLAG_ASK}
    assert not ticks["last"].any() and not ticks["volume"].any() and not ticks["volume_real"].any()
    assert np.array_equal(ticks["bid"], points(ticks["bid"]) / 1e5)  # prices at the symbol's digits


# --- what a request selects -------------------------------------------------------------------------


def test_copy_rates_from_pos_counts_from_the_current_bar_newest_last() -> None:
    sim = make()
    rates = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M5, 0, 50))
    tick = sim.symbol_info_tick("EURUSD")
    assert tick is not None
    assert len(rates) == 50 and np.all(np.diff(rates["time"]) == 300)
    assert rates["time"][-1] == tick.time // 300 * 300  # position 0: the bar the live quote is in
    assert rates["close"][-1] == tick.bid
    older = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M5, 10, 40))
    assert np.array_equal(older, rates[:40])


def test_copy_rates_from_answers_bars_opening_at_or_before_the_date() -> None:
    sim = make()
    date_from = T0 - 3 * 3600 + 1234
    rates = answer(sim.copy_rates_from("EURUSD", sim.TIMEFRAME_M15, date_from, 20))
    assert len(rates) == 20 and np.all(rates["time"] <= date_from) and np.all(np.diff(rates["time"]) == 900)
    assert rates["time"][-1] == date_from // 900 * 900
    in_the_future = answer(sim.copy_rates_from("EURUSD", sim.TIMEFRAME_M15, T0 + 86_400, 3))
    assert np.array_equal(in_the_future, answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M15, 0, 3)))


def test_copy_rates_range_includes_both_ends() -> None:
    sim = make()
    start, end = T0 - 5 * 3600, T0 - 3600
    rates = answer(sim.copy_rates_range("EURUSD", sim.TIMEFRAME_H1, start - start % 3600, end - end % 3600))
    assert list(rates["time"]) == list(range(start - start % 3600, end - end % 3600 + 1, 3600))
    assert len(answer(sim.copy_rates_range("EURUSD", sim.TIMEFRAME_H1, end, start))) == 0


def test_copy_ticks_from_and_range_select_by_time() -> None:
    sim = make()
    first = answer(sim.copy_ticks_from("EURUSD", T0 - 600, 100, sim.COPY_TICKS_ALL))
    assert len(first) == 100 and first["time_msc"][0] >= (T0 - 600) * 1000
    earlier = answer(sim.copy_ticks_range("EURUSD", T0 - 660, T0 - 600, sim.COPY_TICKS_ALL))
    assert earlier["time_msc"][-1] < first["time_msc"][0] <= earlier["time_msc"][-1] + 6000
    last = int(first["time"][-1])
    window = answer(sim.copy_ticks_range("EURUSD", T0 - 600, last + 1, sim.COPY_TICKS_ALL))
    assert np.array_equal(window[:100], first)
    assert window["time_msc"][-1] <= (last + 1) * 1000  # date_to is included, to the second


def test_tick_flags_select_quote_ticks_or_none() -> None:
    sim = make()
    every = answer(sim.copy_ticks_range("EURUSD", T0 - 60, T0, sim.COPY_TICKS_ALL))
    assert np.array_equal(answer(sim.copy_ticks_range("EURUSD", T0 - 60, T0, sim.COPY_TICKS_INFO)), every)
    # an FX feed has no Last/Volume changes
    assert len(answer(sim.copy_ticks_range("EURUSD", T0 - 60, T0, sim.COPY_TICKS_TRADE))) == 0
    assert len(answer(sim.copy_ticks_from("EURUSD", T0 - 60, 10, sim.COPY_TICKS_TRADE))) == 0


def test_dates_are_utc_datetimes_or_seconds() -> None:
    sim = make()
    when = datetime.fromtimestamp(T0 - 7200, UTC)
    assert np.array_equal(
        answer(sim.copy_rates_from("GBPUSD", sim.TIMEFRAME_M1, when, 30)),
        answer(sim.copy_rates_from("GBPUSD", sim.TIMEFRAME_M1, T0 - 7200, 30)),
    )
    assert np.array_equal(
        answer(sim.copy_ticks_range("GBPUSD", when, datetime.fromtimestamp(T0, UTC), sim.COPY_TICKS_ALL)),
        answer(sim.copy_ticks_range("GBPUSD", T0 - 7200, T0, sim.COPY_TICKS_ALL)),
    )


@pytest.mark.parametrize("name", TIMEFRAMES)
def test_every_timeframe_gives_bars_at_its_own_opening_times(name: str) -> None:
    sim = make()
    rates = answer(sim.copy_rates_from_pos("USDJPY", getattr(sim, name), 0, 12))
    assert len(rates) == 12 and np.all(np.diff(rates["time"]) > 0)
    opened = [datetime.fromtimestamp(int(t), UTC) for t in rates["time"]]
    unit, size = name.removeprefix("TIMEFRAME_")[:1], name.removeprefix("TIMEFRAME_")[1:]
    if unit == "M" and size != "N1":
        assert all(t.second == 0 and t.minute % int(size) == 0 for t in opened)
    elif unit == "H":
        assert all(t.minute == 0 and t.hour % int(size) == 0 for t in opened)
    elif name == "TIMEFRAME_D1":
        assert all(t.hour == t.minute == 0 and t.weekday() != 5 for t in opened)  # no Saturday bars
    elif name == "TIMEFRAME_W1":
        assert all(t.hour == 0 and t.weekday() == 6 for t in opened)  # MT5 weeks open on Sunday
    else:
        assert all(t.day == 1 and t.hour == 0 for t in opened)
    assert np.all(rates["high"] >= np.maximum(rates["open"], rates["close"]))
    assert np.all(rates["low"] <= np.minimum(rates["open"], rates["close"]))


# --- one feed: bars, ticks and the live quote agree -------------------------------------------------


def bars_of(ticks: np.ndarray, seconds: int) -> list[tuple[int, ...]]:
    bid, spread = points(ticks["bid"]), points(ticks["ask"]) - points(ticks["bid"])
    slot = ticks["time"] // seconds * seconds
    out = []
    for start in np.unique(slot):
        mine = slot == start
        b = bid[mine]
        out.append((int(start), b[0], b.max(), b.min(), b[-1], int(mine.sum()), spread[mine].min()))
    return out


def rows(rates: np.ndarray) -> list[tuple[int, ...]]:
    o, h, low, c = (points(rates[f]) for f in ("open", "high", "low", "close"))
    return list(zip(rates["time"], o, h, low, c, rates["tick_volume"], rates["spread"], strict=True))


@pytest.mark.parametrize(("name", "seconds"), [("M1", 60), ("M5", 300), ("M30", 1800), ("H1", 3600), ("H4", 14400)])
def test_a_bar_is_the_first_highest_lowest_and_last_bid_of_its_ticks(name: str, seconds: int) -> None:
    sim = make()
    start, end = (T0 - 8 * 3600) // 14400 * 14400, T0 // 14400 * 14400 - 1  # whole bars of each timeframe
    ticks = answer(sim.copy_ticks_range("EURUSD", start, end + 1, sim.COPY_TICKS_ALL))
    ticks = ticks[ticks["time"] <= end]  # date_to is whole seconds: its own second comes whole this way
    rates = answer(sim.copy_rates_range("EURUSD", getattr(sim, f"TIMEFRAME_{name}"), start, end - seconds + 1))
    assert rows(rates) == bars_of(ticks, seconds)
    assert not rates["real_volume"].any()


def test_the_current_bars_hold_the_ticks_so_far() -> None:
    sim = make()
    ticks = answer(sim.copy_ticks_range("EURUSD", T0 - T0 % 86_400, T0, sim.COPY_TICKS_ALL))
    day = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_D1, 0, 1))
    assert rows(day) == bars_of(ticks, 86_400)


def test_the_live_quote_is_the_latest_tick_of_the_history() -> None:
    clock = Clock()
    sim = make(clock)
    for _ in range(5):
        tick = sim.symbol_info_tick("EURUSD")
        assert tick is not None
        # date_to is whole seconds: one past the clock takes every tick so far
        history = answer(sim.copy_ticks_range("EURUSD", clock.now - 60, clock.now + 1, sim.COPY_TICKS_ALL))
        assert tuple(history[-1]) == tuple(tick)
        clock.now += 37.25
    # the history behind the clock does not change as the clock moves on
    assert np.array_equal(history, answer(sim.copy_ticks_range("EURUSD", T0 + 4 * 37.25 - 60, T0 + 149, -1)))


def test_a_stale_feed_ends_its_history_at_its_last_tick() -> None:
    sim = make(symbols={"EURUSD": {"tick_age_s": 120.0}})
    tick = sim.symbol_info_tick("EURUSD")
    history = answer(sim.copy_ticks_range("EURUSD", T0 - 600, T0, sim.COPY_TICKS_ALL))
    assert tick is not None and tuple(history[-1]) == tuple(tick) and tick.time <= T0 - 120


def test_a_quote_set_by_a_test_is_a_tick_and_the_history_before_it_stays() -> None:
    clock = Clock()
    sim = make(clock)
    before = answer(sim.copy_ticks_range("EURUSD", T0 - 60, T0, sim.COPY_TICKS_ALL))
    sim.set_quote("EURUSD", 1.2, 1.20012)
    history = answer(sim.copy_ticks_range("EURUSD", T0 - 60, T0, sim.COPY_TICKS_ALL))
    assert np.array_equal(history[:-1], before[before["time_msc"] < T0 * 1000])
    assert (history[-1]["bid"], history[-1]["ask"], history[-1]["time_msc"]) == (1.2, 1.20012, T0 * 1000)
    clock.now += 30
    later = answer(sim.copy_ticks_range("EURUSD", T0, T0 + 31, sim.COPY_TICKS_ALL))
    tick = sim.symbol_info_tick("EURUSD")
    assert tick is not None and tuple(later[-1]) == tuple(tick)
    assert abs(tick.bid - 1.2) < 0.002  # moved on from the quote set, not from the generated level
    minute = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 0, 2))
    assert rows(minute) == bars_of(answer(sim.copy_ticks_range("EURUSD", T0 - T0 % 60 - 60, T0 + 31, -1)), 60)[-2:]


def test_without_random_walk_the_history_is_the_scenarios_quote() -> None:
    sim = make(walk=False)
    ticks = answer(sim.copy_ticks_range("EURUSD", T0 - 3600, T0, sim.COPY_TICKS_ALL))
    assert set(ticks["bid"]) == {1.095} and set(ticks["ask"]) == {1.0951}
    bars = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_H1, 0, 24))
    assert set(bars["open"]) == set(bars["low"]) == {1.095} and set(bars["spread"]) == {10}


# --- the same scenario, the same market ----------------------------------------------------------------


def test_the_same_scenario_gives_the_same_history_and_another_seed_another() -> None:
    a, b, other = make(), make(), make(seed=8)
    for sim in (a, b, other):
        sim.symbol_info_tick("EURUSD")  # a terminal's own use of the feed changes nothing
    assert np.array_equal(
        answer(a.copy_rates_from_pos("EURUSD", a.TIMEFRAME_H1, 0, 500)),
        answer(b.copy_rates_from_pos("EURUSD", b.TIMEFRAME_H1, 0, 500)),
    )
    ta = answer(a.copy_ticks_from("EURUSD", T0 - 86_400, 5000, a.COPY_TICKS_ALL))
    assert np.array_equal(ta, answer(b.copy_ticks_from("EURUSD", T0 - 86_400, 5000, b.COPY_TICKS_ALL)))
    assert not np.array_equal(ta, answer(other.copy_ticks_from("EURUSD", T0 - 86_400, 5000, other.COPY_TICKS_ALL)))


# --- weekends ---------------------------------------------------------------------------------------------


def test_fx_has_no_ticks_from_friday_22_to_sunday_22_utc() -> None:
    sim = make()
    weekend = answer(sim.copy_ticks_range("EURUSD", FRIDAY_CLOSE, SUNDAY_OPEN - 1, sim.COPY_TICKS_ALL))
    assert len(weekend) == 0
    around = answer(sim.copy_ticks_range("EURUSD", FRIDAY_CLOSE - 60, SUNDAY_OPEN + 60, sim.COPY_TICKS_ALL))
    assert around["time"][0] >= FRIDAY_CLOSE - 60 and around["time"][-1] >= SUNDAY_OPEN
    gap = np.diff(around["time_msc"]).max()
    assert (SUNDAY_OPEN - FRIDAY_CLOSE) * 1000 <= gap < (SUNDAY_OPEN - FRIDAY_CLOSE + 12) * 1000
    hours = answer(sim.copy_rates_range("EURUSD", sim.TIMEFRAME_H1, FRIDAY_CLOSE - 7200, SUNDAY_OPEN + 3600))
    assert list(hours["time"]) == [FRIDAY_CLOSE - 7200, FRIDAY_CLOSE - 3600, SUNDAY_OPEN, SUNDAY_OPEN + 3600]


def test_the_weekend_the_clock_is_in_still_quotes() -> None:
    saturday = FRIDAY_CLOSE + 14 * 3600
    sim = make(Clock(saturday))
    tick = sim.symbol_info_tick("EURUSD")
    assert tick is not None and saturday - 6 < tick.time <= saturday  # a live market, as market_open says
    assert len(answer(sim.copy_ticks_range("EURUSD", FRIDAY_CLOSE, saturday, sim.COPY_TICKS_ALL))) > 0
    last_week = answer(sim.copy_ticks_range("EURUSD", FRIDAY_CLOSE - 7 * 86_400, saturday - 7 * 86_400, -1))
    assert len(last_week) == 0


# --- bounded as the terminal is -------------------------------------------------------------------------


def test_the_chart_holds_maxbars_bars_and_no_more() -> None:
    sim = make()
    info = sim.terminal_info()
    assert info is not None and info.maxbars == MAX_BARS
    held = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 0, MAX_BARS))
    assert len(held) == MAX_BARS and np.all(np.diff(held["time"]) >= 60)
    assert sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 1, MAX_BARS) is None
    assert sim.last_error() == INVALID
    assert sim.copy_rates_from("EURUSD", sim.TIMEFRAME_M1, T0, MAX_BARS + 1) is None
    assert sim.last_error() == INVALID
    # a range reaching past the bars held: the terminal refuses it rather than answer part of it
    assert sim.copy_rates_range("EURUSD", sim.TIMEFRAME_M1, datetime(2020, 1, 1, tzinfo=UTC), T0) is None
    assert sim.last_error() == INVALID
    assert np.array_equal(
        answer(sim.copy_rates_range("EURUSD", sim.TIMEFRAME_M1, int(held["time"][0]), T0)),
        held,
    )


def test_bars_begin_with_the_history() -> None:
    sim = make()
    months = answer(sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_MN1, 0, 1000))
    assert months["time"][0] == 0  # 1970-01-01, the earliest date MT5 knows
    assert len(months) == (2023 - 1970) * 12 + 11
    assert len(answer(sim.copy_rates_range("EURUSD", sim.TIMEFRAME_D1, -86_400 * 30, -1))) == 0


def test_an_enormous_tick_request_is_out_of_memory_not_out_of_the_machine() -> None:
    sim = make()
    assert sim.copy_ticks_range("EURUSD", datetime(2020, 1, 1, tzinfo=UTC), T0, sim.COPY_TICKS_ALL) is None
    assert sim.last_error() == (-3, "Terminal: Out of memory")
    assert sim.copy_ticks_from("EURUSD", 0, 2**31 - 1, sim.COPY_TICKS_ALL) is None
    assert sim.last_error() == (-3, "Terminal: Out of memory")
    few = answer(sim.copy_ticks_from("EURUSD", T0 - 60, 2**31 - 1, sim.COPY_TICKS_ALL))  # all there are
    assert few["time"][-1] <= T0 and len(few) < 1000


# --- errors as the package reports them -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.copy_rates_from_pos("NOPE", m.TIMEFRAME_M1, 0, 10), (-1, "Terminal: Call failed")),
        (lambda m: m.copy_ticks_from("NOPE", T0, 10, m.COPY_TICKS_ALL), (-1, "Terminal: Call failed")),
        (lambda m: m.copy_rates_from_pos("EURUSD", 7, 0, 10), INVALID),
        (lambda m: m.copy_rates_from("EURUSD", 0x4000 | 5, T0, 10), INVALID),
        (lambda m: m.copy_rates_range("EURUSD", 0, T0 - 60, T0), INVALID),
        (lambda m: m.copy_rates_from_pos("EURUSD", m.TIMEFRAME_M1, -1, 10), INVALID),
        (lambda m: m.copy_rates_from_pos("EURUSD", m.TIMEFRAME_M1, 0, 0), INVALID),
        (lambda m: m.copy_rates_from("EURUSD", m.TIMEFRAME_M1, T0, -5), INVALID),
        (lambda m: m.copy_ticks_from("EURUSD", T0, -1, m.COPY_TICKS_ALL), INVALID),
        (lambda m: m.copy_ticks_range("EURUSD", T0 - 60, T0, 4), INVALID),
    ],
)
def test_failures_answer_none_and_say_why_in_last_error(call: Any, error: tuple[int, str]) -> None:
    sim = make()
    assert call(sim) is None
    assert sim.last_error() == error


def test_a_symbol_out_of_the_market_watch_has_no_history() -> None:
    sim = make()
    assert sim.symbol_select("EURUSD", False)
    assert sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 0, 10) is None
    assert sim.last_error() == (-1, "Terminal: Call failed")


def test_history_needs_the_terminal() -> None:
    sim = SimulatedTerminal(clock=Clock())
    assert sim.copy_rates_from_pos("EURUSD", sim.TIMEFRAME_M1, 0, 10) is None
    assert sim.last_error() == (-10004, "No IPC connection")


# --- market depth -----------------------------------------------------------------------------------------


def test_the_book_lists_ten_levels_a_side_sells_first_from_the_highest_price() -> None:
    sim = make(walk=False, symbols={"EURUSD": {"liquidity_lots": 7.3}})
    assert sim.market_book_add("EURUSD")
    book = sim.market_book_get("EURUSD")
    assert book is not None and len(book) == 20
    assert [b.type for b in book] == [sim.BOOK_TYPE_SELL] * 10 + [sim.BOOK_TYPE_BUY] * 10
    prices = [points(np.array([b.price]))[0] for b in book]
    assert prices == list(range(109519, 109509, -1)) + list(range(109500, 109490, -1))  # a point apart
    for side in (book[:10], book[10:]):
        volumes = [Decimal(repr(b.volume_dbl)) for b in side]
        # what one order can take at once, as the engine's liquidity check sums it
        assert sum(volumes) == Decimal("7.3")
        assert all(b.volume == int(b.volume_dbl) for b in side)
    touch_outward = [b.volume_dbl for b in book[9::-1]]
    assert touch_outward == sorted(touch_outward)  # more size away from the touch


def test_the_book_follows_the_live_quote() -> None:
    clock = Clock()
    sim = make(clock)
    assert sim.market_book_add("USDJPY")
    for _ in range(3):
        book, tick = sim.market_book_get("USDJPY"), sim.symbol_info_tick("USDJPY")
        assert book is not None and tick is not None
        assert (book[9].price, book[10].price) == (tick.ask, tick.bid)
        clock.now += 90
