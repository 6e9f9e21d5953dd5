"""The simulator as the MT5 adapter meets it: module-like calls, retcodes, fills and failures."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.adapters.mt5 import constants
from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC, OrderSendResult, TradeDeal
from app.adapters.sim.accounting import DEPOSIT_TICKET
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000.0
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
NO_IPC = (-10004, "No IPC connection")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None, *, sleep: Any = None, **overrides: Any) -> SimulatedTerminal:
    sim = SimulatedTerminal(
        Scenario().with_overrides(**overrides), clock=clock or Clock(), sleep=sleep or (lambda s: None)
    )
    assert sim.initialize()
    return sim


def order(
    sim: SimulatedTerminal, volume: float = 1.0, *, sell: bool = False, symbol: str = "EURUSD", **extra: Any
) -> dict[str, Any]:
    return {
        "action": sim.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": sim.ORDER_TYPE_SELL if sell else sim.ORDER_TYPE_BUY,
        "type_filling": sim.ORDER_FILLING_FOK,
        "deviation": 10,
        "magic": 4242,
        "comment": "exec-1",
        **extra,
    }


def send(sim: SimulatedTerminal, volume: float = 1.0, **kwargs: Any) -> OrderSendResult:
    result = sim.order_send(order(sim, volume, **kwargs))
    assert result is not None, sim.last_error()
    return result


def trades(sim: SimulatedTerminal) -> list[TradeDeal]:
    """The buy and sell deals at the broker (its history opens with the deposit, a balance deal)."""
    return [d for d in sim.history_deals_get(EPOCH, FAR) or () if d.type != sim.DEAL_TYPE_BALANCE]


def everything(sim: SimulatedTerminal) -> tuple[int, int, int]:
    """(orders resting + in history, trade deals, positions) at the broker."""
    return (
        len(sim.orders_get() or ()) + len(sim.history_orders_get(EPOCH, FAR) or ()),
        len(trades(sim)),
        len(sim.positions_get() or ()),
    )


# --- the module surface ---------------------------------------------------------------------------


def test_every_constant_of_the_real_package_is_an_attribute() -> None:
    sim = SimulatedTerminal(Scenario())
    listed = Path(__file__).resolve().parents[1] / "data" / "mt5_constants.txt"
    for line in listed.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            assert getattr(sim, name.strip()) == int(value), name
    assert sim.TRADE_RETCODE_DONE == 10009 and sim.ORDER_FILLING_FOK == 0
    assert all(getattr(sim, n) == v for n, v in vars(constants).items() if n.isupper())


def test_it_offers_the_functions_of_the_package() -> None:
    sim = SimulatedTerminal(Scenario())
    for name in (
        "initialize",
        "login",
        "shutdown",
        "last_error",
        "version",
        "terminal_info",
        "account_info",
        "symbols_total",
        "symbols_get",
        "symbol_info",
        "symbol_info_tick",
        "symbol_select",
        "market_book_add",
        "market_book_get",
        "market_book_release",
        "order_calc_margin",
        "order_calc_profit",
        "order_check",
        "order_send",
        "orders_total",
        "orders_get",
        "positions_total",
        "positions_get",
        "history_orders_total",
        "history_orders_get",
        "history_deals_total",
        "history_deals_get",
    ):
        assert callable(getattr(sim, name)), name


def test_calls_before_initialize_and_after_shutdown_fail_like_the_module() -> None:
    sim = SimulatedTerminal(Scenario(), clock=Clock())
    assert sim.account_info() is None and sim.last_error() == NO_IPC
    assert sim.symbol_info_tick("EURUSD") is None and sim.terminal_info() is None
    assert sim.order_send(order(sim)) is None and sim.last_error() == NO_IPC
    assert sim.symbol_select("EURUSD") is False
    assert sim.order_send_calls == 0
    assert sim.initialize() is True and sim.last_error() == (1, "Success")
    assert sim.version() == (500, 4755, "20 Jan 2025")
    assert sim.account_info() is not None
    sim.shutdown()
    assert sim.positions_get() is None and sim.last_error() == NO_IPC


def test_last_error_follows_every_call() -> None:
    sim = make()
    assert sim.symbol_info("NOPE") is None
    assert sim.last_error() == (-1, "Terminal: Call failed")
    assert sim.symbol_info("EURUSD") is not None
    assert sim.last_error() == (1, "Success")


def test_account_info_of_a_fresh_account() -> None:
    info = make().account_info()
    assert info is not None
    assert (info.balance, info.equity, info.margin, info.margin_free, info.margin_level) == (
        100000.0,
        100000.0,
        0.0,
        100000.0,
        0.0,
    )
    assert info.currency == "USD" and info.leverage == 30
    assert info.margin_mode == constants.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING


def test_login_must_match_when_the_scenario_names_one() -> None:
    sim = SimulatedTerminal(Scenario().with_overrides(account={"login": 123, "server": "Demo-1"}))
    assert sim.initialize(login=999, password="x", server="Demo-1") is False
    assert sim.last_error() == (-6, "Terminal: Authorization failed")
    assert sim.initialize(login=123, password="x", server="Demo-1") is True
    info = sim.account_info()
    assert info is not None and info.login == 123
    anyone = make()
    assert anyone.login(777, password="pw") is True
    acct = anyone.account_info()
    assert acct is not None and acct.login == 777


# --- symbols and market data ----------------------------------------------------------------------


def test_symbols_and_their_specs() -> None:
    sim = make()
    assert sim.symbols_total() == 8
    eurusd = sim.symbol_info("EURUSD")
    assert eurusd is not None
    assert (eurusd.digits, eurusd.point, eurusd.bid, eurusd.ask, eurusd.spread) == (5, 0.00001, 1.095, 1.0951, 10)
    assert eurusd.filling_mode == SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC
    assert eurusd.trade_mode == sim.SYMBOL_TRADE_MODE_FULL
    assert eurusd.trade_exemode == sim.SYMBOL_TRADE_EXECUTION_MARKET
    assert (eurusd.volume_min, eurusd.volume_step, eurusd.volume_max) == (0.01, 0.01, 100.0)
    assert eurusd.trade_contract_size == 100000.0
    assert eurusd.trade_tick_value == pytest.approx(1.0)
    usdjpy = sim.symbol_info("USDJPY")
    assert usdjpy is not None and usdjpy.digits == 3 and usdjpy.point == 0.001
    assert usdjpy.trade_tick_value == pytest.approx(100 / 151.506)


def test_symbol_groups_filter_like_mt5() -> None:
    sim = make()
    jpy = sim.symbols_get(group="*JPY")
    assert jpy is not None and sorted(s.name for s in jpy) == ["EURJPY", "USDJPY"]
    usd_not_eur = sim.symbols_get("*USD*,!EUR*")
    assert usd_not_eur is not None
    assert sorted(s.name for s in usd_not_eur) == ["AUDUSD", "GBPUSD", "NZDUSD", "USDCAD", "USDCHF", "USDJPY"]


def test_trade_mode_and_filling_modes_show_in_symbol_info() -> None:
    sim = make(symbols={"EURUSD": {"trade_mode": "closeonly", "filling_modes": ["ioc", "return"]}})
    info = sim.symbol_info("EURUSD")
    assert info is not None
    assert info.trade_mode == sim.SYMBOL_TRADE_MODE_CLOSEONLY
    assert info.filling_mode == SYMBOL_FILLING_IOC


def test_tick_age_makes_the_quote_stale() -> None:
    sim = make(symbols={"EURUSD": {"tick_age_s": 120.0}})
    tick = sim.symbol_info_tick("EURUSD")
    assert tick is not None
    # the feed's latest tick at or before T0 - 120 s: its ticks are at most a few seconds apart
    assert (T0 - 126) * 1000 < tick.time_msc <= (T0 - 120) * 1000 and tick.time == tick.time_msc // 1000
    assert (tick.bid, tick.ask) == (1.095, 1.0951)
    fresh = sim.symbol_info_tick("GBPUSD")
    assert fresh is not None and T0 - 6 < fresh.time <= T0


def test_set_quote_moves_the_market_even_backwards() -> None:
    sim = make()
    sim.set_quote("EURUSD", 1.1, 1.10012)
    tick = sim.symbol_info_tick("EURUSD")
    assert tick is not None and (tick.bid, tick.ask) == (1.1, 1.10012)
    assert send(sim).price == 1.10012
    sim.set_quote("EURUSD", 1.100, 1.095)  # crossed on purpose: a caller's checks must catch it
    crossed = sim.symbol_info_tick("EURUSD")
    assert crossed is not None and crossed.bid > crossed.ask


def test_symbol_select_hides_and_shows_a_symbol() -> None:
    sim = make()
    assert sim.symbol_select("EURUSD", False) is True
    assert sim.symbol_info_tick("EURUSD") is None
    info = sim.symbol_info("EURUSD")
    assert info is not None and info.select is False
    assert sim.symbol_select("EURUSD") is True and sim.symbol_info_tick("EURUSD") is not None
    assert sim.symbol_select("NOPE") is False and sim.last_error() == (-1, "Terminal: Call failed")


def test_market_book_shows_the_liquidity_from_the_touch() -> None:
    sim = make(symbols={"EURUSD": {"liquidity_lots": 2.5}})
    assert sim.market_book_get("EURUSD") is None  # not subscribed yet
    assert sim.market_book_add("EURUSD") is True
    book = sim.market_book_get("EURUSD")
    assert book is not None
    sells = [b for b in book if b.type == sim.BOOK_TYPE_SELL]
    buys = [b for b in book if b.type == sim.BOOK_TYPE_BUY]
    assert (sells[-1].price, buys[0].price) == (1.0951, 1.095)  # the touch
    assert sum(Decimal(repr(b.volume_dbl)) for b in sells) == sum(Decimal(repr(b.volume_dbl)) for b in buys) == 2.5
    assert sim.market_book_release("EURUSD") is True
    assert sim.market_book_get("EURUSD") is None


def test_random_walk_is_deterministic_moves_and_keeps_spreads_positive() -> None:
    clock_a, clock_b = Clock(), Clock()
    a = make(clock_a, behaviour={"random_walk": True, "random_seed": 7})
    b = make(clock_b, behaviour={"random_walk": True, "random_seed": 7})
    seen = set()
    for step in range(0, 3600, 60):
        clock_a.now = clock_b.now = T0 + step
        ta, tb = a.symbol_info_tick("USDJPY"), b.symbol_info_tick("USDJPY")
        assert ta is not None and ta == tb
        assert ta.ask > ta.bid
        assert Decimal(repr(ta.bid)) == Decimal(repr(ta.bid)).quantize(Decimal("0.001"))
        seen.add(ta.bid)
    assert len(seen) > 10


# --- money maths ----------------------------------------------------------------------------------


def test_margin_of_eurusd_usdjpy_and_eurjpy_on_a_usd_account() -> None:
    sim = make()
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.0951) == 3650.33  # 100000*1.0951/30
    assert sim.order_calc_margin(sim.ORDER_TYPE_SELL, "USDJPY", 1.0, 151.5) == 3333.33  # 100000/30
    # EUR converted through EURUSD at its mid 1.09505
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "EURJPY", 1.0, 165.918) == 3650.17
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "EURUSD", 0.95, 1.0951) == 3467.82
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "NOPE", 1.0, 1.0) is None


def test_margin_on_a_eur_account_converts_inversely() -> None:
    sim = make(account={"currency": "EUR", "leverage": 50})
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.0951) == 2000.0  # base is EUR
    # USD to EUR through EURUSD inverted: 100000 / 1.09505 / 50
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "USDJPY", 1.0, 151.5) == 1826.40


def test_profit_in_the_account_currency() -> None:
    sim = make()
    assert sim.order_calc_profit(sim.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.0950, 1.0960) == 100.0
    assert sim.order_calc_profit(sim.ORDER_TYPE_SELL, "EURUSD", 0.5, 1.0950, 1.0960) == -50.0
    assert sim.order_calc_profit(sim.ORDER_TYPE_BUY, "USDJPY", 1.0, 151.5, 152.0) == 328.95  # 50000 JPY / 152


# --- order_check ----------------------------------------------------------------------------------


def test_order_check_passes_with_done_and_the_margin_after_the_trade() -> None:
    sim = make()
    check = sim.order_check(order(sim, 1.0))
    assert check is not None
    assert (check.retcode, check.comment) == (0, "Done")
    assert check.margin == 3650.33 and check.margin_free == pytest.approx(100000 - 3650.33)
    assert check.balance == 100000.0 and check.request.volume == 1.0
    assert everything(sim) == (0, 0, 0)


@pytest.mark.parametrize(
    ("overrides", "retcode"),
    [
        ({"symbols": {"EURUSD": {"market_open": False}}}, 10018),
        ({"symbols": {"EURUSD": {"trade_mode": "disabled"}}}, 10017),
        ({"symbols": {"EURUSD": {"filling_modes": ["ioc"]}}}, 10030),
        ({"account": {"balance": 1000.0}}, 10019),
    ],
)
def test_order_check_says_why_it_would_fail(overrides: dict[str, Any], retcode: int) -> None:
    sim = make(**overrides)
    check = sim.order_check(order(sim))
    assert check is not None and check.retcode == retcode


def test_order_check_refuses_a_bad_volume() -> None:
    sim = make()
    check = sim.order_check(order(sim, 0.955))
    assert check is not None and (check.retcode, check.comment) == (10014, "Invalid volume")


# --- market execution -----------------------------------------------------------------------------


def test_a_market_buy_fills_at_the_ask_and_records_order_deal_and_position() -> None:
    sim = make()
    r = send(sim, 0.95, comment="a comment far longer than thirty-one characters")
    assert (r.retcode, r.comment, r.volume, r.price) == (10009, "Request executed", 0.95, 1.0951)
    assert r.order > 0 and r.deal > r.order and r.request_id == 1 and r.retcode_external == 0
    assert r.request.symbol == "EURUSD" and r.request.volume == 0.95
    (deal,) = trades(sim)
    assert (deal.ticket, deal.order, deal.type, deal.entry) == (r.deal, r.order, sim.DEAL_TYPE_BUY, sim.DEAL_ENTRY_IN)
    assert (deal.volume, deal.price, deal.magic, deal.time) == (0.95, 1.0951, 4242, T0)
    assert deal.comment == "a comment far longer than thirty-one characters"[:31]
    (hist,) = sim.history_orders_get(EPOCH, FAR) or ()
    assert (hist.ticket, hist.state, hist.type_filling, hist.magic) == (r.order, sim.ORDER_STATE_FILLED, 0, 4242)
    assert (hist.volume_initial, hist.volume_current, hist.position_id) == (0.95, 0.0, deal.position_id)
    assert len(hist.comment) == 31
    (pos,) = sim.positions_get() or ()
    assert (pos.ticket, pos.identifier, pos.type, pos.volume, pos.price_open) == (
        deal.position_id,
        deal.position_id,
        sim.POSITION_TYPE_BUY,
        0.95,
        1.0951,
    )
    assert pos.price_current == 1.095 and pos.profit == -9.5  # marked at the bid: one pip on 0.95 lot
    assert sim.orders_total() == 0 and sim.positions_total() == 1


def test_a_sell_fills_at_the_bid_and_slippage_is_adverse() -> None:
    sim = make(behaviour={"fill_slippage_points": 7})
    assert send(sim, sell=True).price == 1.09493
    assert send(sim).price == 1.09517


def test_account_reflects_open_positions() -> None:
    sim = make()
    send(sim, 1.0)
    send(sim, 1.0, symbol="USDJPY", sell=True)
    info = sim.account_info()
    assert info is not None
    assert info.margin == pytest.approx(3650.33 + 3333.33)
    # each position marked at its closing side: -1 pip EURUSD (10 USD), -1.2 pips USDJPY (1200 JPY)
    assert info.profit == pytest.approx(-10.0 - 7.92)
    assert info.equity == pytest.approx(info.balance + info.profit)
    assert info.margin_free == pytest.approx(info.equity - info.margin)
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)


def test_closing_a_position_realises_its_profit() -> None:
    sim = make(symbols={"EURUSD": {"trade_mode": "full"}})
    opened = send(sim, 1.0)
    sim.set_quote("EURUSD", 1.0961, 1.0962)
    closed = send(sim, 0.4, sell=True, position=opened.order)
    assert closed.retcode == 10009 and closed.price == 1.0961
    deals = sim.history_deals_get(position=opened.order) or ()
    assert [(d.entry, d.volume, d.profit) for d in deals] == [(0, 1.0, 0.0), (1, 0.4, 40.0)]
    (pos,) = sim.positions_get() or ()
    assert pos.volume == 0.6
    info = sim.account_info()
    assert info is not None and info.balance == 100040.0
    assert send(sim, 0.7, sell=True, position=opened.order).retcode == 10038  # more than is open
    assert send(sim, 0.6, sell=True, position=opened.order).retcode == 10009
    assert sim.positions_get() == ()
    assert send(sim, 0.1, sell=True, position=opened.order).retcode == 10036  # already closed


@pytest.mark.parametrize(
    ("volume", "ok"),
    [
        (0.95, True),
        (0.01, True),
        (100.0, True),
        (1.23, True),
        (0.955, False),
        (0.001, False),
        (0.0, False),
        (-1.0, False),
        (100.01, False),
        (float("nan"), False),
    ],
)
def test_volume_is_checked_exactly_against_min_max_and_step(volume: float, ok: bool) -> None:
    sim = make(account={"balance": 10_000_000.0})  # margin for 100 lots
    r = send(sim, volume)
    assert r.retcode == (10009 if ok else 10014)
    if not ok:
        assert r.comment == "Invalid volume" and everything(sim) == (0, 0, 0)


@pytest.mark.parametrize(("volume", "ok"), [(0.3, True), (0.7, True), (2.9, True), (0.95, False), (0.35, False)])
def test_a_coarser_step_is_exact_too(volume: float, ok: bool) -> None:
    # 0.3 % 0.1 is not 0 in binary floating point; the check is in decimal
    sim = make(symbols={"EURUSD": {"volume_step": 0.1, "volume_min": 0.1}})
    assert send(sim, volume).retcode == (10009 if ok else 10014)


@pytest.mark.parametrize(
    ("mode", "sell", "retcode"),
    [
        ("disabled", False, 10017),
        ("longonly", True, 10042),
        ("longonly", False, 10009),
        ("shortonly", False, 10043),
        ("shortonly", True, 10009),
        ("closeonly", False, 10044),
    ],
)
def test_trade_modes(mode: str, sell: bool, retcode: int) -> None:
    sim = make(symbols={"EURUSD": {"trade_mode": mode}})
    assert send(sim, sell=sell).retcode == retcode


def test_close_only_still_lets_a_position_close(tmp_path: Path) -> None:
    state = {"state_file": str(tmp_path / "broker.json")}
    opened = send(make(behaviour=state))
    sim = make(behaviour=state, symbols={"EURUSD": {"trade_mode": "closeonly"}})
    assert send(sim).retcode == 10044
    assert send(sim, sell=True, position=opened.order).retcode == 10009


def test_market_closed() -> None:
    sim = make(symbols={"EURUSD": {"market_open": False}})
    r = send(sim)
    assert (r.retcode, r.comment) == (10018, "Market closed")
    assert everything(sim) == (0, 0, 0)


def test_filling_modes_are_enforced() -> None:
    sim = make(symbols={"EURUSD": {"filling_modes": ["ioc"]}})
    r = send(sim)  # FOK
    assert (r.retcode, r.comment) == (10030, "Unsupported filling mode")
    assert send(sim, type_filling=sim.ORDER_FILLING_IOC).retcode == 10009
    assert send(sim, type_filling=sim.ORDER_FILLING_RETURN).retcode == 10030
    with_return = make(symbols={"EURUSD": {"filling_modes": ["return"]}})
    assert send(with_return, type_filling=with_return.ORDER_FILLING_RETURN).retcode == 10009


def test_no_money() -> None:
    sim = make(account={"balance": 3000.0})
    r = send(sim, 1.0)
    assert (r.retcode, r.comment) == (10019, "No money")
    assert everything(sim) == (0, 0, 0)
    assert send(sim, 0.5).retcode == 10009


def test_invalid_stops_are_refused() -> None:
    sim = make()
    assert send(sim, sl=1.0960).retcode == 10016  # a buy's stop above the bid
    assert send(sim, sl=1.0900, tp=1.1000).retcode == 10009


@pytest.mark.parametrize(
    ("request_", "retcode"),
    [
        ({"action": 99, "symbol": "EURUSD", "volume": 1.0, "type": 0}, 10013),
        ({"symbol": "EURUSD", "volume": 1.0, "type": 0}, 10013),
        ({"action": 1, "volume": 1.0, "type": 0}, 10013),
        ({"action": 1, "symbol": "NOPE", "volume": 1.0, "type": 0}, 10013),
        ({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 2}, 10035),
        ({"action": 1, "symbol": "EURUSD", "type": 0}, 10014),
    ],
)
def test_bad_requests_get_a_retcode(request_: dict[str, Any], retcode: int) -> None:
    sim = make()
    r = sim.order_send(request_)
    assert r is not None and r.retcode == retcode
    assert everything(sim) == (0, 0, 0)


@pytest.mark.parametrize(
    "request_",
    [
        {"action": 1, "symbol": "EURUSD", "volume": "1", "type": 0},
        {"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0, "colour": "red"},
        ["not", "a", "dict"],
    ],
)
def test_malformed_requests_are_refused_by_the_extension(request_: Any) -> None:
    sim = make()
    assert sim.order_send(request_) is None
    code, message = sim.last_error()
    assert code == -2 and message.startswith("Invalid")
    assert sim.order_check(request_) is None


# --- broker behaviours ----------------------------------------------------------------------------


def test_requote_every_nth_order_send() -> None:
    sim = make(behaviour={"requote_every": 3})
    codes = [send(sim).retcode for _ in range(6)]
    assert codes == [10009, 10009, 10004, 10009, 10009, 10004]
    sim.set_quote("EURUSD", 1.1, 1.1001)
    send(sim)
    send(sim)
    requote = send(sim)
    assert (requote.retcode, requote.comment, requote.bid, requote.ask) == (10004, "Requote", 1.1, 1.1001)
    assert requote.order == 0 and requote.deal == 0
    assert everything(sim)[1] == 6


def test_reject_retcode_answers_every_order_send_and_keeps_nothing() -> None:
    sim = make(behaviour={"reject_retcode": 10006})
    r = send(sim)
    assert (r.retcode, r.comment, r.order, r.deal) == (10006, "Request rejected", 0, 0)
    assert everything(sim) == (0, 0, 0)
    assert sim.order_send_calls == 1


def test_partial_fill_with_ioc() -> None:
    sim = make(symbols={"EURUSD": {"filling_modes": ["ioc"]}}, behaviour={"fill_ratio": 0.7})
    r = send(sim, 1.0, type_filling=sim.ORDER_FILLING_IOC)
    assert (r.retcode, r.comment, r.volume) == (10010, "Request executed partially", 0.7)
    (hist,) = sim.history_orders_get(EPOCH, FAR) or ()
    assert (hist.state, hist.volume_initial, hist.volume_current) == (sim.ORDER_STATE_FILLED, 1.0, 0.3)
    (deal,) = trades(sim)
    assert deal.volume == 0.7
    # floor to whole steps: 0.13 * 0.7 = 0.091 → 0.09
    assert send(sim, 0.13, type_filling=sim.ORDER_FILLING_IOC).volume == 0.09
    # never less than the minimum lot: an order for it fills in full
    smallest = send(sim, 0.01, type_filling=sim.ORDER_FILLING_IOC)
    assert (smallest.retcode, smallest.volume) == (10009, 0.01)
    assert send(sim, 0.02, type_filling=sim.ORDER_FILLING_IOC).volume == 0.01


def test_nothing_fills_at_a_fill_ratio_of_zero() -> None:
    sim = make(symbols={"EURUSD": {"filling_modes": ["ioc"]}}, behaviour={"fill_ratio": 0.0})
    assert send(sim, type_filling=sim.ORDER_FILLING_IOC).retcode == 10006
    assert everything(sim) == (0, 0, 0)


def test_partial_fill_rejects_fok() -> None:
    sim = make(behaviour={"fill_ratio": 0.7})
    r = send(sim, 1.0)
    assert (r.retcode, r.comment) == (10006, "Request rejected")
    assert everything(sim) == (0, 0, 0)


def test_volume_above_the_liquidity_fills_what_is_there_with_ioc_and_rejects_fok() -> None:
    sim = make(symbols={"EURUSD": {"liquidity_lots": 5.0}})
    assert send(sim, 8.0).retcode == 10006
    ioc = send(sim, 8.0, type_filling=sim.ORDER_FILLING_IOC)
    assert (ioc.retcode, ioc.volume) == (10010, 5.0)
    assert send(sim, 5.0).retcode == 10009


def test_a_slow_fill_rests_placed_until_the_clock_moves() -> None:
    clock = Clock()
    sim = make(clock, behaviour={"pending_fill_after_s": 2.0})
    r = send(sim)
    assert (r.retcode, r.comment, r.deal, r.volume) == (10008, "Order placed", 0, 1.0)
    (resting,) = sim.orders_get() or ()
    assert (resting.ticket, resting.state) == (r.order, sim.ORDER_STATE_PLACED)
    assert sim.history_orders_get(EPOCH, FAR) == () and sim.positions_get() == ()
    clock.now += 1.9
    assert sim.orders_total() == 1 and trades(sim) == []
    sim.set_quote("EURUSD", 1.1, 1.1001)
    clock.now += 0.2
    assert sim.orders_get() == ()
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert hist.state == sim.ORDER_STATE_FILLED and hist.time_done == int(T0 + 2)
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert (deal.volume, deal.price, deal.time) == (1.0, 1.1001, int(T0 + 2))
    assert sim.positions_total() == 1


def test_a_symbols_resting_time_overrides_the_scenario_wide_one_for_its_orders_only() -> None:
    clock = Clock()
    sim = make(
        clock,
        behaviour={"pending_fill_after_s": 2.0},
        symbols={"USDCAD": {"pending_fill_after_s": -1}, "EURUSD": {"pending_fill_after_s": 0}},
    )
    eurusd, usdcad, gbpusd = send(sim), send(sim, symbol="USDCAD"), send(sim, symbol="GBPUSD")
    assert (eurusd.retcode, eurusd.volume) == (10009, 1.0) and eurusd.deal  # filled on send
    assert (usdcad.retcode, gbpusd.retcode) == (10008, 10008)  # placed, resting
    clock.now += 10 * 86400
    (resting,) = sim.orders_get() or ()
    assert (resting.ticket, resting.symbol) == (usdcad.order, "USDCAD")  # GBPUSD filled after 2 s, USDCAD never
    assert {p.symbol for p in sim.positions_get() or ()} == {"EURUSD", "GBPUSD"}


def test_an_order_that_never_fills_can_be_removed() -> None:
    clock = Clock()
    sim = make(clock, behaviour={"pending_fill_after_s": -1})
    r = send(sim)
    assert r.retcode == 10008
    clock.now += 10 * 86400
    assert len(sim.orders_get() or ()) == 1
    removed = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert removed is not None and (removed.retcode, removed.order) == (10009, r.order)
    assert sim.orders_get() == ()
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert hist.state == sim.ORDER_STATE_CANCELED
    assert trades(sim) == []
    again = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert again is not None and again.retcode == 10035
    unknown = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": 1})
    assert unknown is not None and unknown.retcode == 10013


def test_a_filled_order_can_no_longer_be_removed() -> None:
    clock = Clock()
    sim = make(clock, behaviour={"pending_fill_after_s": 1.0})
    r = send(sim)
    clock.now += 5
    removed = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert removed is not None and removed.retcode == 10035
    assert len(trades(sim)) == 1


def test_a_connection_drop_before_sending_executes_nothing() -> None:
    sim = make(behaviour={"connection_drop_before": [1, 3]})
    assert sim.order_send(order(sim)) is None
    assert sim.last_error() == (-10001, "IPC send failed")
    assert everything(sim) == (0, 0, 0)
    assert send(sim).retcode == 10009
    assert sim.order_send(order(sim)) is None
    assert sim.order_send_calls == 3
    assert everything(sim) == (1, 1, 1)


def test_a_connection_drop_after_sending_executes_but_loses_the_answer() -> None:
    sim = make(behaviour={"connection_drop_after": [1]})
    assert sim.order_send(order(sim, comment="tag-1")) is None
    assert sim.last_error() == (-10002, "IPC recv failed")
    assert everything(sim) == (1, 1, 1)
    (hist,) = sim.history_orders_get(EPOCH, FAR) or ()
    assert hist.comment == "tag-1"
    (deal,) = sim.history_deals_get(ticket=hist.ticket) or ()
    assert deal.comment == "tag-1"
    assert sim.last_error() == (1, "Success")


def test_a_lost_terminal_answers_nothing_until_it_is_back() -> None:
    sim = make()
    sim.set_connected(False)
    assert sim.symbol_info_tick("EURUSD") is None and sim.last_error() == NO_IPC
    assert sim.account_info() is None and sim.positions_get() is None
    assert sim.order_send(order(sim)) is None and sim.last_error() == NO_IPC
    assert sim.order_send_calls == 0
    info = sim.terminal_info()
    assert info is not None and info.connected is False
    sim.shutdown()
    assert sim.initialize() is False and sim.last_error()[0] == -10003
    sim.set_connected(True)
    assert sim.initialize() is True
    terminal = sim.terminal_info()
    assert terminal is not None and terminal.connected is True
    assert send(sim).retcode == 10009


def test_latency_is_spent_in_every_call() -> None:
    slept: list[float] = []
    sim = make(sleep=slept.append, behaviour={"latency_ms": 50.0})
    sim.symbol_info_tick("EURUSD")
    send(sim)
    sim.last_error()  # local to the Python side: no round trip
    assert slept == [0.05, 0.05, 0.05]  # initialize, tick, order_send


# --- queries --------------------------------------------------------------------------------------


def test_history_filters_by_date_ticket_position_and_group() -> None:
    clock = Clock()
    sim = make(clock)
    first = send(sim, 0.1)
    clock.now += 3600
    second = send(sim, 0.2, symbol="USDJPY", sell=True)
    closing = send(sim, 0.1, sell=True, position=first.order)
    assert sim.history_orders_total(T0, T0 + 10) == 1
    # the account opened at T0: its deposit is the first deal
    assert sim.history_deals_total(datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 3600, UTC)) == 4
    early = sim.history_deals_get(T0 - 1, T0 + 1) or ()
    assert [d.ticket for d in early] == [DEPOSIT_TICKET, first.deal]
    assert [o.ticket for o in sim.history_orders_get(EPOCH, FAR, group="*JPY") or ()] == [second.order]
    assert [o.ticket for o in sim.history_orders_get(EPOCH, FAR, group="*,!*JPY") or ()] == [first.order, closing.order]
    assert [o.ticket for o in sim.history_orders_get(position=first.order) or ()] == [first.order, closing.order]
    assert [d.ticket for d in sim.history_deals_get(ticket=second.order) or ()] == [second.deal]
    assert [d.ticket for d in sim.history_deals_get(position=first.order) or ()] == [first.deal, closing.deal]
    assert sim.history_deals_get(ticket=999) == ()
    assert sim.history_deals_get() is None and sim.last_error()[0] == -2
    assert sim.history_orders_get("yesterday", FAR) is None  # type: ignore[arg-type]


def test_open_orders_and_positions_filter_by_symbol_group_and_ticket() -> None:
    sim = make(behaviour={"pending_fill_after_s": -1})
    a = send(sim, symbol="EURUSD")
    b = send(sim, symbol="USDJPY")
    assert [o.ticket for o in sim.orders_get(symbol="USDJPY") or ()] == [b.order]
    assert [o.ticket for o in sim.orders_get(group="EUR*") or ()] == [a.order]
    assert [o.ticket for o in sim.orders_get(ticket=a.order) or ()] == [a.order]
    assert sim.orders_total() == 2
    filled = make()
    p = send(filled, symbol="GBPUSD")
    send(filled, symbol="EURUSD")
    assert [x.ticket for x in filled.positions_get(symbol="GBPUSD") or ()] == [p.order]
    assert [x.ticket for x in filled.positions_get(ticket=p.order) or ()] == [p.order]
    assert len(filled.positions_get(group="*USD") or ()) == 2


def test_tickets_increase() -> None:
    sim = make()
    results = [send(sim) for _ in range(3)]
    tickets = [t for r in results for t in (r.order, r.deal)]
    assert tickets == sorted(tickets) and len(set(tickets)) == 6
    assert [r.request_id for r in results] == [1, 2, 3]


def test_non_finite_numbers_never_raise() -> None:
    sim = make()
    assert sim.order_calc_margin(sim.ORDER_TYPE_BUY, "EURUSD", float("nan"), 1.0) is None
    assert sim.last_error()[0] == -2
    assert send(sim, sl=float("nan")).retcode == 10016


def test_concurrent_callers_get_distinct_tickets() -> None:
    sim = make(account={"balance": 10_000_000.0})

    def worker() -> None:
        for _ in range(50):
            assert send(sim, 0.01).retcode == 10009

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deals = trades(sim)
    assert len(deals) == 200 and len({d.ticket for d in deals}) == 200
    assert sim.order_send_calls == 200 and sim.positions_total() == 200
