"""open_terminal() as `import MetaTrader5 as mt5` meets it: the package's names, its call forms and its
answers to wrong calls (app/adapters/sim/arguments.py says where they were read), and its Buy/Sell/Close."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.adapters.mt5 import records
from app.adapters.sim import open_terminal
from app.adapters.sim.module import module_of
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from tests.broker.test_mt5_fidelity import real_constants, real_functions

T0 = 1_700_000_000
FROM, TO = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
OK = (1, "Success")
NO_IPC = (-10004, "No IPC connection")
INVALID = (-2, "Invalid arguments")


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


def terminal(**overrides: Any) -> SimulatedTerminal:
    return SimulatedTerminal(Scenario().with_overrides(**overrides), clock=Clock(), sleep=lambda s: None)


def connected(**overrides: Any) -> Any:
    mt5 = module_of(terminal(**overrides))
    assert mt5.initialize() is True
    return mt5


def deal(mt5: Any, volume: float = 0.1, *, sell: bool = False, symbol: str = "EURUSD") -> Any:
    tick = mt5.symbol_info_tick(symbol)
    result = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": volume,
            "type": mt5.ORDER_TYPE_SELL if sell else mt5.ORDER_TYPE_BUY,
            "price": tick.bid if sell else tick.ask,
        }
    )
    assert result is not None and result.retcode == mt5.TRADE_RETCODE_DONE, mt5.last_error()
    return result


# --- the package's names --------------------------------------------------------------------------------


def test_the_module_has_every_name_of_the_package() -> None:
    mt5 = open_terminal()
    assert (mt5.__name__, mt5.__version__, mt5.__author__) == ("MetaTrader5", "5.0.6231", "MetaQuotes Ltd.")
    assert {name: getattr(mt5, name) for name in real_constants()} == real_constants()
    assert all(callable(getattr(mt5, name)) for name in real_functions())
    types = "TradePosition TradeOrder TradeDeal TradeRequest OrderSendResult OrderCheckResult Tick TerminalInfo"
    for name in [*types.split(), "SymbolInfo", "AccountInfo", "BookInfo"]:
        assert getattr(mt5, name) is getattr(records, name)
    assert all(callable(getattr(mt5, name)) for name in ("Buy", "Sell", "Close", "_RawOrder"))


def test_the_helpers_take_the_packages_parameters() -> None:
    def shape(fn: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    mt5 = open_terminal()
    P, K = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    at = [("symbol", P, inspect.Parameter.empty), ("volume", P, inspect.Parameter.empty), ("price", P, None)]
    assert shape(mt5.Buy) == shape(mt5.Sell) == [*at, ("comment", K, None), ("ticket", K, None)]
    assert shape(mt5.Close) == [("symbol", P, inspect.Parameter.empty), ("comment", K, None), ("ticket", K, None)]
    raw = ["order_type", "symbol", "volume", "price"]
    assert shape(mt5._RawOrder) == [
        *((n, P, inspect.Parameter.empty) for n in raw),
        ("comment", P, None),
        ("ticket", P, None),
    ]


def test_a_scenario_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[account]\nbalance = 2500.0\ncurrency = "EUR"\n')
    mt5 = open_terminal(path)
    assert mt5.initialize()
    info = mt5.account_info()
    assert (info.balance, info.currency) == (2500.0, "EUR")


def test_a_bad_scenario_is_refused_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[account]\nbalanse = 1\n")
    with pytest.raises(ValueError, match="balanse"):
        open_terminal(path)
    with pytest.raises(OSError):
        open_terminal(tmp_path / "missing.toml")


# --- the documented call forms and the shape of their answers -----------------------------------------------


def test_session_functions() -> None:
    mt5 = module_of(terminal(account={"login": 7001, "server": "Demo"}))
    assert mt5.initialize(login=7001, password="secret", server="Demo", timeout=60000, portable=False) is True
    assert mt5.last_error() == OK
    assert mt5.initialize("C:\\Program Files\\MetaTrader 5\\terminal64.exe") is True
    assert mt5.login(7001, password="secret", server="Demo", timeout=60000) is True
    assert mt5.login(7001, "secret", "Demo") is True
    version = mt5.version()
    assert isinstance(version, tuple) and [type(v) for v in version] == [int, int, str] and version[0] == 500
    info = mt5.terminal_info()
    assert isinstance(info, mt5.TerminalInfo) and info.connected and info._asdict()["build"] == version[1]
    account = mt5.account_info()
    assert isinstance(account, mt5.AccountInfo) and (account.login, account.server) == (7001, "Demo")
    assert mt5.shutdown() is True  # the package answers True (its documentation says None)
    assert mt5.last_error() == OK and mt5.terminal_info() is None


def test_symbol_functions() -> None:
    mt5 = connected()
    names = [s.name for s in mt5.symbols_get()]
    assert mt5.symbols_total() == len(names) and "EURUSD" in names
    assert (
        {s.name for s in mt5.symbols_get(group="*JPY*")}
        == {s.name for s in mt5.symbols_get("*JPY*")}
        == {n for n in names if "JPY" in n}
    )
    assert [s.name for s in mt5.symbols_get("")] == names  # an empty group is every symbol
    info = mt5.symbol_info("EURUSD")
    assert isinstance(info, mt5.SymbolInfo) and info.name == "EURUSD" and info.digits == 5
    tick = mt5.symbol_info_tick("EURUSD")
    assert isinstance(tick, mt5.Tick) and (tick.bid, tick.ask) == (1.095, 1.0951)
    assert mt5.symbol_select("GBPUSD", False) is True and mt5.symbol_info("GBPUSD").visible is False
    assert mt5.symbol_select("GBPUSD") is True and mt5.symbol_info("GBPUSD").visible is True
    assert mt5.market_book_add("EURUSD") is True
    book = mt5.market_book_get("EURUSD")
    assert book and all(isinstance(level, mt5.BookInfo) for level in book)
    assert mt5.market_book_release("EURUSD") is True


def test_calculations_and_trading() -> None:
    mt5 = connected()
    ask = mt5.symbol_info_tick("EURUSD").ask
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, ask)
    assert isinstance(margin, float) and margin > 0
    profit = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1, ask, ask + 0.001)  # an int volume is a double
    assert profit == pytest.approx(100.0)
    request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": mt5.ORDER_TYPE_BUY}
    check = mt5.order_check(request)
    assert isinstance(check, mt5.OrderCheckResult) and check.retcode == 0
    sent = mt5.order_send({**request, "price": ask})
    assert isinstance(sent, mt5.OrderSendResult) and sent.retcode == mt5.TRADE_RETCODE_DONE
    by_keywords = mt5.order_send(**request, price=ask)  # the extension takes the fields as keywords too
    assert by_keywords.retcode == mt5.TRADE_RETCODE_DONE and by_keywords.request == sent.request


def test_open_orders_and_positions_filter_by_one_keyword() -> None:
    mt5 = connected(behaviour={"pending_fill_after_s": -1})  # market orders rest, placed
    resting = mt5.order_send(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "USDJPY", "volume": 0.1, "type": mt5.ORDER_TYPE_BUY}
    )
    assert resting.retcode == mt5.TRADE_RETCODE_PLACED
    orders = mt5.orders_get()
    assert isinstance(orders, tuple) and isinstance(orders[0], mt5.TradeOrder) and mt5.orders_total() == 1
    assert [o.ticket for o in mt5.orders_get(symbol="USDJPY")] == [resting.order]
    assert [o.ticket for o in mt5.orders_get(group="*JPY")] == [resting.order]
    assert [o.ticket for o in mt5.orders_get(ticket=resting.order)] == [resting.order]
    assert mt5.orders_get(symbol="EURUSD") == ()
    filled = connected()
    a, b = deal(filled, symbol="EURUSD"), deal(filled, symbol="GBPUSD", sell=True)
    positions = filled.positions_get()
    assert all(isinstance(p, filled.TradePosition) for p in positions) and filled.positions_total() == 2
    assert [p.ticket for p in filled.positions_get(symbol="GBPUSD")] == [b.order]
    assert [p.ticket for p in filled.positions_get(group="EUR*")] == [a.order]
    assert [p.ticket for p in filled.positions_get(ticket=a.order)] == [a.order]
    assert filled.positions_get(symbol="NZDUSD") == () and filled.positions_get(ticket=1) == ()
    # one filter only, the ticket first; keywords the function does not know are ignored
    assert [p.ticket for p in filled.positions_get(ticket=a.order, symbol="GBPUSD")] == [a.order]
    assert [p.ticket for p in filled.positions_get(symbol="GBPUSD", group="EUR*")] == [b.order]
    assert len(filled.positions_get(colour="red")) == 2


def test_history_by_dates_ticket_and_position() -> None:
    mt5 = connected()
    opened = deal(mt5)
    closed = mt5.Close("EURUSD")
    assert closed is True
    start, end = T0 - 60, T0 + 60
    orders = mt5.history_orders_get(start, end)
    assert all(isinstance(o, mt5.TradeOrder) for o in orders) and mt5.history_orders_total(start, end) == len(orders)
    assert mt5.history_orders_get(FROM, TO) == mt5.history_orders_get(float(start), datetime(2030, 1, 1, tzinfo=UTC))
    assert mt5.history_orders_get(FROM, TO, group="*USD*") == orders
    assert mt5.history_orders_get(FROM, TO, group="*JPY*") == ()
    assert [o.ticket for o in mt5.history_orders_get(ticket=opened.order)] == [opened.order]
    assert len(mt5.history_orders_get(position=opened.order)) == 2  # the opening and the closing order
    deals = mt5.history_deals_get(FROM, TO, group="EURUSD")
    assert all(isinstance(d, mt5.TradeDeal) for d in deals) and len(deals) == 2
    assert mt5.history_deals_total(FROM, TO) >= 2
    assert [d.ticket for d in mt5.history_deals_get(ticket=opened.order)] == [opened.deal]
    assert mt5.history_deals_get(position=opened.order) == deals
    assert mt5.history_orders_get(ticket=999) == () and mt5.last_error() == OK


def test_market_data_call_forms_reach_the_terminal() -> None:
    mt5 = connected()
    date = datetime.fromtimestamp(T0, UTC)
    for answer in (
        mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, date, 10),
        mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 10),
        mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_M1, T0 - 3600, date),
        mt5.copy_ticks_from("EURUSD", T0 - 60, 10, mt5.COPY_TICKS_ALL),
        mt5.copy_ticks_range("EURUSD", T0 - 60, float(T0), mt5.COPY_TICKS_ALL),
    ):
        assert answer is not None and mt5.last_error() == OK


# --- wrong calls ------------------------------------------------------------------------------------------

REQUEST = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}


@pytest.mark.parametrize(
    ("call", "answer", "error"),
    [
        (lambda m: m.positions_get("EURUSD"), None, (-2, "Unnamed arguments not allowed")),
        (lambda m: m.orders_get("EURUSD"), None, (-2, "Unnamed arguments not allowed")),
        (lambda m: m.positions_get(symbol=1), None, (-2, 'Invalid "symbol" argument')),
        (lambda m: m.positions_get(symbol="X" * 30), None, (-2, 'Invalid "symbol" argument')),
        (lambda m: m.orders_get(group=None), None, (-2, 'Invalid "group" argument')),
        (lambda m: m.positions_get(ticket="1"), None, (-2, 'Invalid "ticket" argument')),
        (lambda m: m.history_deals_get(), None, INVALID),
        (lambda m: m.history_deals_get(date_from=FROM, date_to=TO), None, INVALID),
        (lambda m: m.history_orders_get(FROM), None, INVALID),
        (lambda m: m.history_orders_get("yesterday", TO), None, INVALID),
        (lambda m: m.history_orders_get(FROM, ticket=1), None, (-2, "Unnamed arguments not allowed")),
        (lambda m: m.history_deals_get(FROM, position=1), None, (-2, "Unnamed arguments not allowed")),
        (lambda m: m.history_deals_get(position="1"), None, (-2, 'Invalid "position" argument')),
        (lambda m: m.history_deals_get(FROM, TO, group=1), None, (-2, 'Invalid "group" argument')),
        (lambda m: m.history_orders_total(FROM), None, INVALID),
        (lambda m: m.history_deals_total(FROM, "now"), None, INVALID),
        (lambda m: m.symbol_info(), None, INVALID),
        (lambda m: m.symbol_info_tick(1), None, INVALID),
        (lambda m: m.symbol_info_tick("EURUSD", "GBPUSD"), None, INVALID),
        (lambda m: m.symbol_select("EURUSD", True, 1), False, INVALID),
        (lambda m: m.symbol_select(None), False, INVALID),
        (lambda m: m.symbols_get("*", "*"), False, (-2, "Invalid number of arguments")),
        (lambda m: m.symbols_get(1), False, (-2, "Invalid 1st unnamed argument")),
        (lambda m: m.symbols_get(group=1), False, (-2, 'Invalid "group" argument')),
        (lambda m: m.market_book_add(1), None, INVALID),
        (lambda m: m.market_book_release(), None, INVALID),
        (lambda m: m.market_book_get("EURUSD", 1), None, INVALID),
        (lambda m: m.order_send(), None, (-2, "Invalid number of arguments")),
        (lambda m: m.order_send(REQUEST, REQUEST), None, (-2, "Invalid number of arguments")),
        (lambda m: m.order_send(REQUEST, magic=1), None, (-2, "Unnamed arguments not allowed")),
        (lambda m: m.order_check(list(REQUEST.items())), None, INVALID),
        (lambda m: m.order_calc_margin(0, "EURUSD", 1.0), None, INVALID),
        (lambda m: m.order_calc_profit(0, 1, 1.0, 1.1, 1.2), None, INVALID),
        (lambda m: m.copy_rates_from("EURUSD", 1, "today", 10), None, INVALID),
        (lambda m: m.copy_rates_from_pos(1, 1, 0, 10), None, INVALID),
        (lambda m: m.copy_ticks_range("EURUSD", T0, None, 0), None, INVALID),
        (lambda m: m.copy_ticks_from("EURUSD", T0, 10), None, INVALID),
        (lambda m: m.initialize("a", "b"), False, (-2, "Invalid number of arguments")),
        (lambda m: m.initialize(1), False, (-2, "Invalid 1st unnamed argument")),
        (lambda m: m.initialize(login="7001"), False, (-2, 'Invalid "login" argument')),
        (lambda m: m.initialize(server=1), False, (-2, 'Invalid "server" argument')),
        (lambda m: m.initialize(password=None), False, (-2, 'Invalid "password" argument')),
        (lambda m: m.initialize(timeout=1.5), False, (-2, 'Invalid "timeout" argument')),
        (lambda m: m.initialize(path=1), False, (-2, 'Invalid "path" argument')),
        (lambda m: m.login(), False, (-2, 'Invalid "login" argument')),
        (lambda m: m.login("7001"), False, (-2, "Invalid 1st unnamed argument")),
        (lambda m: m.login(7001, 2), False, (-2, "Invalid 2nd unnamed argument")),
        (lambda m: m.login(7001, "pw", 3), False, (-2, "Invalid 3rd unnamed argument")),
        (lambda m: m.login(7001, "pw", "Demo", 60000), False, (-2, "Invalid number of arguments")),
    ],
)
def test_a_wrong_call_answers_with_last_error_as_the_package_does(
    call: Callable[[Any], Any], answer: Any, error: tuple[int, str]
) -> None:
    mt5 = connected()
    assert call(mt5) is answer
    assert mt5.last_error() == error
    # the extension refuses the arguments itself: the same answer without a terminal
    assert call(module_of(terminal())) is answer


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.symbol_info_tick(symbol="EURUSD"), "symbol_info_tick() takes no keyword arguments"),
        (lambda m: m.symbol_select("EURUSD", enable=True), "symbol_select() takes no keyword arguments"),
        (lambda m: m.order_calc_margin(action=0, symbol="EURUSD", volume=1.0, price=1.1), "order_calc_margin()"),
        (lambda m: m.history_deals_total(date_from=FROM, date_to=TO), "history_deals_total()"),
        (lambda m: m.copy_rates_from("EURUSD", 1, FROM, count=10), "copy_rates_from() takes no keyword arguments"),
        (lambda m: m.version(1), "MetaTrader5._core.version() takes no arguments (1 given)"),
        (lambda m: m.account_info(login=1), "MetaTrader5._core.account_info() takes no keyword arguments"),
        (lambda m: m.positions_total(None), "positions_total() takes no arguments"),
        (lambda m: m.terminal_info("x"), "terminal_info() takes no arguments"),
        (lambda m: m.last_error(0), "last_error() takes no arguments"),
    ],
)
def test_calls_python_itself_refuses_raise_type_error(call: Callable[[Any], Any], message: str) -> None:
    mt5 = connected()
    assert mt5.symbol_info("NOPE") is None
    before = mt5.last_error()
    with pytest.raises(TypeError, match=re.escape(message)):
        call(mt5)
    assert mt5.last_error() == before  # the function never ran


@pytest.mark.parametrize(
    ("call", "cause", "error"),
    [
        (lambda m: m.copy_rates_from("EURUSD", m.TIMEFRAME_M1, FROM, 10.0), TypeError, INVALID),
        (lambda m: m.copy_ticks_from("EURUSD", FROM, 10**12, 0), OverflowError, INVALID),
        (lambda m: m.order_calc_margin(0, "EURUSD", "1", 1.1), TypeError, INVALID),
        (lambda m: m.order_calc_profit(0.0, "EURUSD", 1.0, 1.1, 1.2), TypeError, INVALID),
        (lambda m: m.positions_get(ticket=-1), OverflowError, (-2, 'Invalid "ticket" argument')),
        (lambda m: m.history_orders_get(ticket=2**64), OverflowError, (-2, 'Invalid "ticket" argument')),
        (lambda m: m.login(-1), OverflowError, (-2, "Invalid 1st unnamed argument")),
    ],
)
def test_a_value_cpython_cannot_convert_ends_in_system_error(
    call: Callable[[Any], Any], cause: type[Exception], error: tuple[int, str]
) -> None:
    """The extension answers with CPython's conversion error still pending: the interpreter raises."""
    mt5 = connected()
    with pytest.raises(SystemError, match="returned a result with an exception set") as raised:
        call(mt5)
    assert isinstance(raised.value.__cause__, cause)
    assert mt5.last_error() == error


def test_before_initialize_every_function_says_no_ipc_connection() -> None:
    mt5 = module_of(terminal())
    date = datetime.fromtimestamp(T0, UTC)
    nones = [
        mt5.version(),
        mt5.terminal_info(),
        mt5.account_info(),
        mt5.symbols_total(),
        mt5.symbols_get(),
        mt5.symbol_info("EURUSD"),
        mt5.symbol_info_tick("EURUSD"),
        mt5.market_book_get("EURUSD"),
        mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1),
        mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.2),
        mt5.order_check(REQUEST),
        mt5.order_send(REQUEST),
        mt5.orders_total(),
        mt5.orders_get(),
        mt5.positions_total(),
        mt5.positions_get(),
        mt5.history_orders_total(date, date),
        mt5.history_orders_get(date, date),
        mt5.history_deals_total(date, date),
        mt5.history_deals_get(date, date),
        mt5.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, date, 10),
        mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 10),
        mt5.copy_rates_range("EURUSD", mt5.TIMEFRAME_M1, date, date),
        mt5.copy_ticks_from("EURUSD", date, 10, mt5.COPY_TICKS_ALL),
        mt5.copy_ticks_range("EURUSD", date, date, mt5.COPY_TICKS_ALL),
    ]
    assert nones == [None] * len(nones) and mt5.last_error() == NO_IPC
    for answer in (mt5.symbol_select("EURUSD"), mt5.login(7001)):
        assert answer is False and mt5.last_error() == NO_IPC
    # the package answers False here and leaves last_error as the call found it: "Success"
    assert mt5.market_book_add("EURUSD") is False and mt5.last_error() == OK
    assert mt5.market_book_release("EURUSD") is False and mt5.last_error() == OK
    assert mt5.shutdown() is True and mt5.last_error() == OK


# --- Buy, Sell and Close, as the package's own helpers -----------------------------------------------------


def test_buy_and_sell_send_a_market_deal_at_the_touch() -> None:
    mt5 = connected()
    bought = mt5.Buy("EURUSD", 0.1)
    assert bought.retcode == mt5.TRADE_RETCODE_DONE and bought.price == 1.0951
    sent = bought.request
    assert (sent.action, sent.type, sent.symbol, sent.volume, sent.price, sent.deviation) == (
        mt5.TRADE_ACTION_DEAL,
        mt5.ORDER_TYPE_BUY,
        "EURUSD",
        0.1,
        1.0951,
        10,
    )
    assert (sent.type_filling, sent.magic, sent.comment, sent.position) == (0, 0, "", 0)
    sold = mt5.Sell("GBPUSD", 0.2, comment="hedge")
    assert sold.retcode == mt5.TRADE_RETCODE_DONE and sold.request.price == mt5.symbol_info_tick("GBPUSD").bid
    assert sold.request.comment == "hedge" and mt5.positions_total() == 2
    # closing by ticket: the helper's ticket is the request's position
    closing = mt5.Sell("EURUSD", 0.1, comment="out", ticket=bought.order)
    assert closing.retcode == mt5.TRADE_RETCODE_DONE and closing.request.position == bought.order
    assert [p.symbol for p in mt5.positions_get()] == ["GBPUSD"]


def test_a_given_price_is_sent_once_as_it_is() -> None:
    mt5 = connected()
    sends: list[dict[str, Any]] = []
    real = mt5.order_send

    def order_send(request: dict[str, Any]) -> Any:
        sends.append(request)
        return real(request)

    mt5.order_send = order_send  # the helpers call the module's order_send, as the package's do
    mt5.Buy("EURUSD", 0.1, 1.2)
    assert sends == [
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.2, "deviation": 10}
    ]


def answers(mt5: Any, *retcodes: int) -> list[dict[str, Any]]:
    """Make the module's order_send answer these retcodes in turn (the last one again), recording the requests."""
    sent: list[dict[str, Any]] = []

    def order_send(request: dict[str, Any]) -> Any:
        sent.append(request)
        retcode = retcodes[min(len(sent), len(retcodes)) - 1]
        return mt5.OrderSendResult(retcode, 0, 0, 0.0, 0.0, 0.0, 0.0, "", len(sent), 0, None)

    mt5.order_send = order_send
    return sent


def test_a_requote_or_off_quotes_is_tried_again_at_a_fresh_price_up_to_ten_times() -> None:
    mt5 = connected()
    sent = answers(mt5, mt5.TRADE_RETCODE_REQUOTE, mt5.TRADE_RETCODE_PRICE_OFF, mt5.TRADE_RETCODE_DONE)
    assert mt5.Sell("EURUSD", 0.5).retcode == mt5.TRADE_RETCODE_DONE and len(sent) == 3
    mt5 = connected()
    sent = answers(mt5, mt5.TRADE_RETCODE_REQUOTE)
    assert mt5.Buy("EURUSD", 0.5).retcode == mt5.TRADE_RETCODE_REQUOTE and len(sent) == 10
    mt5 = connected()
    sent = answers(mt5, mt5.TRADE_RETCODE_NO_MONEY)
    assert mt5.Buy("EURUSD", 0.5).retcode == mt5.TRADE_RETCODE_NO_MONEY and len(sent) == 1


def test_buy_without_a_tick_fails_as_the_packages_does() -> None:
    mt5 = connected()
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'ask'"):
        mt5.Buy("NOPE", 0.1)
    mt5.order_send = lambda request: None
    assert mt5.Buy("EURUSD", 0.1) is None and mt5.Sell("EURUSD", 0.1, 1.0) is None


def test_close_closes_the_symbols_positions() -> None:
    mt5 = connected()
    first, second = mt5.Buy("EURUSD", 0.1), mt5.Sell("EURUSD", 0.3)
    other = mt5.Buy("USDJPY", 0.1)
    assert mt5.Close("EURUSD", comment="flat") is True
    assert [p.ticket for p in mt5.positions_get()] == [other.order]
    closes = [d for d in mt5.history_deals_get(FROM, TO, group="EURUSD") if d.entry == mt5.DEAL_ENTRY_OUT]
    assert sorted((d.position_id, d.volume, d.comment) for d in closes) == [
        (first.order, 0.1, "flat"),
        (second.order, 0.3, "flat"),
    ]
    assert mt5.Close("EURUSD") is False  # nothing left to close


def test_close_by_ticket_closes_that_position_only() -> None:
    mt5 = connected()
    keep, close = mt5.Buy("EURUSD", 0.1), mt5.Buy("EURUSD", 0.2)
    assert mt5.Close("EURUSD", ticket=close.order) is True
    assert [p.ticket for p in mt5.positions_get()] == [keep.order]


def test_close_says_partially_or_none_as_the_packages_does() -> None:
    mt5 = connected()
    mt5.Buy("EURUSD", 0.1), mt5.Buy("EURUSD", 0.2)
    sent = answers(mt5, mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_REJECT)
    assert mt5.Close("EURUSD") == "Partially" and len(sent) == 2
    assert [r["type"] for r in sent] == [mt5.ORDER_TYPE_SELL] * 2 and all(r["deviation"] == 10 for r in sent)
    mt5.order_send = lambda request: None
    assert mt5.Close("EURUSD") is None
    mt5.symbol_info_tick = lambda symbol: None
    assert mt5.Close("EURUSD") is None
    mt5.shutdown()
    with pytest.raises(TypeError):  # positions_get answers None: the package's Close iterates it
        mt5.Close("EURUSD")
