"""The *_info records of the simulated terminal, filled as an MT5 Forex broker's demo account fills them."""

from __future__ import annotations

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import AccountInfo, SymbolInfo, TerminalInfo
from app.adapters.sim.accounting import AccountFigures
from app.adapters.sim.history import MAX_BARS
from app.adapters.sim.market import Market
from app.adapters.sim.rules import EXECUTION_MODES, MARGIN_MODES, filling_flags
from app.adapters.sim.scenario import AccountSpec, Scenario, SymbolSpec

TRADE_MODES: dict[str, int] = {
    "full": c.SYMBOL_TRADE_MODE_FULL,
    "disabled": c.SYMBOL_TRADE_MODE_DISABLED,
    "longonly": c.SYMBOL_TRADE_MODE_LONGONLY,
    "shortonly": c.SYMBOL_TRADE_MODE_SHORTONLY,
    "closeonly": c.SYMBOL_TRADE_MODE_CLOSEONLY,
}

_EXPIRATION_ALL = 15  # SYMBOL_EXPIRATION_GTC | DAY | SPECIFIED | SPECIFIED_DAY
_ORDER_MODE_ALL = 127  # SYMBOL_ORDER_MARKET | LIMIT | STOP | STOP_LIMIT | SL | TP | CLOSEBY


def symbol_info(spec: SymbolSpec, account: AccountSpec, market: Market, now: float, *, selected: bool) -> SymbolInfo:
    q = market.quote(spec.name, now)
    bid, ask = float(q.bid), float(q.ask)
    tick_value = float(market.tick_value(spec, account, now))
    point = float(spec.point)
    return SymbolInfo(
        custom=False,
        chart_mode=c.SYMBOL_CHART_MODE_BID,
        select=selected,
        visible=selected,
        session_deals=0,
        session_buy_orders=0,
        session_sell_orders=0,
        volume=0,
        volumehigh=0,
        volumelow=0,
        time=int(q.time),
        digits=spec.digits,
        spread=int((q.ask - q.bid) / spec.point),
        spread_float=True,
        ticks_bookdepth=10,
        trade_calc_mode=c.SYMBOL_CALC_MODE_FOREX,
        trade_mode=TRADE_MODES[spec.trade_mode],
        start_time=0,
        expiration_time=0,
        trade_stops_level=0,
        trade_freeze_level=0,
        trade_exemode=EXECUTION_MODES[spec.execution_mode],
        swap_mode=c.SYMBOL_SWAP_MODE_POINTS,
        swap_rollover3days=c.DAY_OF_WEEK_WEDNESDAY,
        margin_hedged_use_leg=False,
        expiration_mode=_EXPIRATION_ALL,
        filling_mode=filling_flags(spec),
        order_mode=_ORDER_MODE_ALL,
        order_gtc_mode=c.SYMBOL_ORDERS_GTC,
        option_mode=0,
        option_right=0,
        bid=bid,
        bidhigh=bid,
        bidlow=bid,
        ask=ask,
        askhigh=ask,
        asklow=ask,
        last=0.0,
        lasthigh=0.0,
        lastlow=0.0,
        volume_real=0.0,
        volumehigh_real=0.0,
        volumelow_real=0.0,
        option_strike=0.0,
        point=point,
        trade_tick_value=tick_value,
        trade_tick_value_profit=tick_value,
        trade_tick_value_loss=tick_value,
        trade_tick_size=point,
        trade_contract_size=float(spec.contract_size),
        trade_accrued_interest=0.0,
        trade_face_value=0.0,
        trade_liquidity_rate=0.0,
        volume_min=float(spec.volume_min),
        volume_max=float(spec.volume_max),
        volume_step=float(spec.volume_step),
        volume_limit=0.0,
        swap_long=0.0,
        swap_short=0.0,
        margin_initial=0.0,
        margin_maintenance=0.0,
        session_volume=0.0,
        session_turnover=0.0,
        session_interest=0.0,
        session_buy_orders_volume=0.0,
        session_sell_orders_volume=0.0,
        session_open=0.0,
        session_close=0.0,
        session_aw=0.0,
        session_price_settlement=0.0,
        session_price_limit_min=0.0,
        session_price_limit_max=0.0,
        margin_hedged=float(spec.contract_size),
        price_change=0.0,
        price_volatility=0.0,
        price_theoretical=0.0,
        price_greeks_delta=0.0,
        price_greeks_theta=0.0,
        price_greeks_gamma=0.0,
        price_greeks_vega=0.0,
        price_greeks_rho=0.0,
        price_greeks_omega=0.0,
        price_sensitivity=0.0,
        basis="",
        category="",
        currency_base=spec.currency_base,
        currency_profit=spec.currency_profit,
        currency_margin=spec.currency_base,
        bank="",
        description=spec.description,
        exchange="",
        formula="",
        isin="",
        name=spec.name,
        page="",
        path=f"Forex\\{spec.name}",
    )


def account_info(acc: AccountSpec, login: int, fig: AccountFigures) -> AccountInfo:
    """A demo account, hedging or netting; stop-out levels of an ESMA retail account (call 100 %, out 50 %)."""
    return AccountInfo(
        login=login,
        trade_mode=c.ACCOUNT_TRADE_MODE_DEMO,
        leverage=acc.leverage,
        limit_orders=200,
        margin_so_mode=c.ACCOUNT_STOPOUT_MODE_PERCENT,
        trade_allowed=True,
        trade_expert=True,
        margin_mode=MARGIN_MODES[acc.margin_mode],
        currency_digits=2,
        fifo_close=False,
        balance=float(fig.balance),
        credit=0.0,
        profit=float(fig.profit),
        equity=float(fig.equity),
        margin=float(fig.margin),
        margin_free=float(fig.margin_free),
        margin_level=float(fig.margin_level),
        margin_so_call=100.0,
        margin_so_so=50.0,
        margin_initial=0.0,
        margin_maintenance=0.0,
        assets=0.0,
        liabilities=0.0,
        commission_blocked=0.0,
        name=acc.name,
        server=acc.server,
        currency=acc.currency,
        company=acc.company,
    )


def terminal_info(scenario: Scenario, *, connected: bool, build: int) -> TerminalInfo:
    name = "MetaTrader 5 (simulated)"
    return TerminalInfo(
        community_account=False,
        community_connection=False,
        connected=connected,
        dlls_allowed=False,
        trade_allowed=connected,
        tradeapi_disabled=False,
        email_enabled=False,
        ftp_enabled=False,
        notifications_enabled=False,
        mqid=False,
        build=build,
        maxbars=MAX_BARS,
        codepage=0,
        ping_last=int(scenario.behaviour.latency_ms * 1000),  # microseconds, as MT5 reports it
        community_balance=0.0,
        retransmission=0.0,
        company=scenario.account.company,
        name=name,
        language="English",
        path=f"<{name}>",
        data_path=scenario.behaviour.state_file or "<memory>",
        commondata_path="<memory>",
    )
