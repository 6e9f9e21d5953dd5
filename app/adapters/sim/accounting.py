"""The account's books: positions, deals and the figures they make, on a hedging or a netting account.

Hedging (ACCOUNT_MARGIN_MODE_RETAIL_HEDGING): every order that does not name a position opens its own
position (ticket and identifier = the order's ticket); a request with `position` closes (part of)
that one; two opposite positions can be closed one by the other (TRADE_ACTION_CLOSE_BY).

Netting (ACCOUNT_MARGIN_MODE_RETAIL_NETTING): one position per symbol. A deal on the position's side
adds to it at the volume-weighted price (DEAL_ENTRY_IN), an opposite one reduces or closes it
(DEAL_ENTRY_OUT) or, when larger, reverses it in one deal (DEAL_ENTRY_INOUT): per the MQL5
reference, the identifier stays and the ticket becomes the reversing order's. Non-zero sl/tp of an
order that adds to a netting position replace the position's (the reference is silent; a terminal's
order dialog does the same).

Account figures: balance = deposit + realised profit; equity = balance + floating profit (every
position marked at the price it would close at); margin = Σ each position's margin at its opening
price (both legs of a hedge are charged: SymbolInfo.margin_hedged is the contract size); free
margin = equity - margin; margin level = equity / margin × 100 (0 without margin).
The deposit is a DEAL_TYPE_BALANCE deal at the start of the history, dated when the account opened
(the terminal's first call); its amount is the scenario's balance, so it is not kept in the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import TradeDeal, TradeOrder, TradePosition
from app.adapters.sim.market import Market
from app.adapters.sim.rules import dec, is_buy
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.state import FIRST_TICKET, SimState

ZERO = Decimal(0)
DEPOSIT_TICKET = FIRST_TICKET - 1  # below every order's and deal's: the first record of the account
DEPOSIT_COMMENT = "Deposit"


@dataclass(frozen=True)
class AccountFigures:
    balance: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal  # percent; 0 without margin in use

    @classmethod
    def of(cls, balance: Decimal, profit: Decimal, margin: Decimal) -> AccountFigures:
        equity = balance + profit
        level = (equity / margin * 100).quantize(Decimal("0.01")) if margin else ZERO
        return cls(balance, profit, equity, margin, equity - margin, level)


@dataclass(frozen=True)
class Closing:
    """Part of a position a request would close, at `price` (None: where the market would close it)."""

    position: TradePosition
    volume: Decimal
    price: Decimal | None = None


@dataclass
class _Exposure:
    """Open volume of one symbol and direction; margin and profit are linear in these two sums."""

    volume: Decimal = ZERO
    volume_price: Decimal = ZERO


class Books:
    def __init__(self, scenario: Scenario, market: Market, state: SimState) -> None:
        self._symbols = scenario.symbols
        self._account = scenario.account
        self._market = market
        self._state = state
        self.netting = scenario.account.margin_mode == "netting"
        # kept incrementally so account figures cost O(symbols), not O(positions), per call
        self._exposure: dict[tuple[str, int], _Exposure] = {}
        self._exposure_version = 0
        self._figures: tuple[tuple[int, int, Decimal], AccountFigures] | None = None
        # positions with a stop loss or take profit: the quotes are watched for these only
        self.protected = {t for t, p in state.positions.items() if p.sl or p.tp}
        self.protected_version = 0
        for pos in state.positions.values():
            self._expose(pos.symbol, pos.type, dec(pos.volume), dec(pos.price_open))

    # --- the deposit ----------------------------------------------------------------------------

    def open_account(self, now: float) -> None:
        """Date the account's opening, its deposit, at the first call.

        A state kept by an earlier version has no such date: it is its first record's. Not a change
        of its own: it is written down with the next one.
        """
        st = self._state
        if st.opened is None:
            first = [o.time_setup_msc / 1000 for o in st.orders.values()] + [
                d.time_msc / 1000 for d in st.deals.values()
            ]
            st.opened = min([now, *first])

    def deposit(self) -> TradeDeal | None:
        """The scenario's balance as the balance deal that opens the history (None before the account opened)."""
        opened = self._state.opened
        if opened is None:
            return None
        return TradeDeal(
            ticket=DEPOSIT_TICKET,
            order=0,
            time=int(opened),
            time_msc=int(opened * 1000),
            type=c.DEAL_TYPE_BALANCE,
            entry=c.DEAL_ENTRY_IN,
            magic=0,
            position_id=0,
            reason=c.DEAL_REASON_CLIENT,
            volume=0.0,
            price=0.0,
            commission=0.0,
            swap=0.0,
            profit=float(self._account.balance),
            fee=0.0,
            symbol="",
            comment=DEPOSIT_COMMENT,
            external_id="",
        )

    def deals(self) -> Iterator[TradeDeal]:
        """The history's deals in ticket order: the deposit, then every deal made."""
        deposit = self.deposit()
        if deposit is not None:
            yield deposit
        yield from self._state.deals.values()

    # --- figures --------------------------------------------------------------------------------

    def figures(self, now: float) -> AccountFigures:
        # Still quotes and unchanged positions give the same figures: asked for at every check and send.
        key = (
            None if self._market.moving else (self._exposure_version, self._market.version, self._state.realized_profit)
        )
        if key is not None and self._figures is not None and self._figures[0] == key:
            return self._figures[1]
        balance = self._account.balance + self._state.realized_profit
        profit = margin = ZERO
        for (symbol, ptype), exp in self._exposure.items():
            spec = self._symbols.get(symbol)
            if spec is None or exp.volume <= 0:
                continue
            buy = ptype == c.POSITION_TYPE_BUY
            avg_open = exp.volume_price / exp.volume
            profit += self._profit(symbol, buy, exp.volume, avg_open, self.closing_price(symbol, buy, now), now)
            margin += self._market.margin(spec, self._account, exp.volume, avg_open, now) or ZERO
        figures = AccountFigures.of(balance, profit, margin)
        if key is not None:
            self._figures = (key, figures)
        return figures

    def after(self, closings: Iterable[Closing], margin_added: Decimal, now: float) -> AccountFigures:
        """The figures once a request closed these parts and opened positions needing `margin_added` (order_check)."""
        fig = self.figures(now)
        realised = floating = released = ZERO
        for part in closings:
            pos = part.position
            spec = self._symbols[pos.symbol]
            buy, opened = pos.type == c.POSITION_TYPE_BUY, dec(pos.price_open)
            here = self.closing_price(pos.symbol, buy, now)
            realised += self._profit(pos.symbol, buy, part.volume, opened, part.price or here, now)
            floating += self._profit(pos.symbol, buy, part.volume, opened, here, now)
            released += self._market.margin(spec, self._account, part.volume, opened, now) or ZERO
        return AccountFigures.of(fig.balance + realised, fig.profit - floating, fig.margin - released + margin_added)

    def live_position(self, pos: TradePosition, now: float) -> TradePosition:
        """The position with price_current and profit at the current quote."""
        if pos.symbol not in self._symbols:
            return pos
        buy = pos.type == c.POSITION_TYPE_BUY
        current = self.closing_price(pos.symbol, buy, now)
        profit = self._profit(pos.symbol, buy, dec(pos.volume), dec(pos.price_open), current, now)
        return pos._replace(price_current=float(current), profit=float(profit))

    def closing_price(self, symbol: str, buy: bool, now: float) -> Decimal:
        """A long closes at the bid, a short at the ask."""
        q = self._market.quote(symbol, now)
        return q.bid if buy else q.ask

    # --- positions ------------------------------------------------------------------------------

    def position_of(self, symbol: str) -> TradePosition | None:
        """Netting: the symbol's position (the oldest, should a hedging account's state hold several)."""
        return next((p for p in sorted(self._state.positions.values()) if p.symbol == symbol), None)

    def target(self, order: TradeOrder) -> TradePosition | None:
        """The position a deal of this order goes to; None: it opens one."""
        if self.netting:
            return self.position_of(order.symbol)
        return self._state.positions.get(order.position_id) if order.position_id else None

    def closed_by(self, side_buy: bool, volume: Decimal, target: TradePosition | None) -> list[Closing]:
        """What a deal of this side and volume closes of its target position."""
        if target is None or (target.type == c.POSITION_TYPE_BUY) == side_buy:
            return []
        return [Closing(target, min(volume, dec(target.volume)))]

    def execute(self, order: TradeOrder, volume: Decimal, price: Decimal, at: float, reason: int) -> TradeDeal:
        """One deal of `volume` of the order at `price`: it opens, adds to, reduces, closes or reverses a position."""
        st = self._state
        buy = is_buy(order.type)
        side = c.POSITION_TYPE_BUY if buy else c.POSITION_TYPE_SELL
        pos = self.target(order)
        profit = ZERO
        if pos is None:
            identifier, entry = order.ticket, c.DEAL_ENTRY_IN
            self._open(order, side, volume, price, at, identifier)
        elif pos.type == side:  # adds to it: the same order's next deal, or netting
            identifier, entry = pos.identifier, c.DEAL_ENTRY_IN
            held = dec(pos.volume)
            average = (held * dec(pos.price_open) + volume * price) / (held + volume)
            self._expose(pos.symbol, side, volume, price)
            self._put(
                pos._replace(
                    volume=float(held + volume),
                    price_open=float(average),
                    sl=order.sl or pos.sl,
                    tp=order.tp or pos.tp,
                    time_update=int(at),
                    time_update_msc=int(at * 1000),
                )
            )
        else:
            identifier = pos.identifier
            closed = min(volume, dec(pos.volume))
            profit = self._realise(pos, closed, price, at)
            left = dec(pos.volume) - closed
            if left > 0:
                entry = c.DEAL_ENTRY_OUT
                self._put(pos._replace(volume=float(left), time_update=int(at), time_update_msc=int(at * 1000)))
            else:
                self._drop(pos.ticket)
                entry = c.DEAL_ENTRY_INOUT if volume > closed else c.DEAL_ENTRY_OUT
                if volume > closed:  # netting reversal: the rest opens the other way, same identifier
                    self._open(order, side, volume - closed, price, at, identifier)
        deal = self._deal(order, buy, entry, identifier, volume, price, profit, at, reason)
        st.add_deal(deal)
        return deal

    def close_by(self, order: TradeOrder, pos: TradePosition, by: TradePosition, at: float) -> list[TradeDeal]:
        """TRADE_ACTION_CLOSE_BY: the smaller volume of two opposite positions closes both, in two deals.

        Both deals are at the opening price of `by` (the reference does not give the price; any one
        price gives the same total, the difference of the two opening prices, and this one keeps the
        whole result on `position`). Entry DEAL_ENTRY_OUT_BY.
        """
        volume = min(dec(pos.volume), dec(by.volume))
        price = dec(by.price_open)
        deals = []
        for p in (pos, by):
            profit = self._realise(p, volume, price, at)
            left = dec(p.volume) - volume
            if left > 0:
                self._put(p._replace(volume=float(left), time_update=int(at), time_update_msc=int(at * 1000)))
            else:
                self._drop(p.ticket)
            closing_buy = p.type == c.POSITION_TYPE_SELL
            deal = self._deal(
                order, closing_buy, c.DEAL_ENTRY_OUT_BY, p.identifier, volume, price, profit, at, c.DEAL_REASON_EXPERT
            )
            self._state.add_deal(deal)
            deals.append(deal)
        return deals

    def set_stops(self, pos: TradePosition, sl: Decimal, tp: Decimal, at: float) -> None:
        self._put(pos._replace(sl=float(sl), tp=float(tp), time_update=int(at), time_update_msc=int(at * 1000)))

    # --- internals ------------------------------------------------------------------------------

    def _open(self, order: TradeOrder, side: int, volume: Decimal, price: Decimal, at: float, identifier: int) -> None:
        ms = int(at * 1000)
        self._expose(order.symbol, side, volume, price)
        self._put(
            TradePosition(
                ticket=order.ticket,
                time=int(at),
                time_msc=ms,
                time_update=int(at),
                time_update_msc=ms,
                type=side,
                magic=order.magic,
                identifier=identifier,
                reason=c.POSITION_REASON_EXPERT,
                volume=float(volume),
                price_open=float(price),
                sl=order.sl,
                tp=order.tp,
                price_current=float(price),
                swap=0.0,
                profit=0.0,
                symbol=order.symbol,
                comment=order.comment,
                external_id="",
            )
        )

    def _realise(self, pos: TradePosition, volume: Decimal, price: Decimal, at: float) -> Decimal:
        opened = dec(pos.price_open)
        profit = self._profit(pos.symbol, pos.type == c.POSITION_TYPE_BUY, volume, opened, price, at)
        self._state.realized_profit += profit
        self._expose(pos.symbol, pos.type, -volume, opened)
        return profit

    def _profit(self, symbol: str, buy: bool, volume: Decimal, opened: Decimal, closed: Decimal, now: float) -> Decimal:
        spec = self._symbols[symbol]
        return self._market.profit(spec, self._account, buy, volume, opened, closed, now) or ZERO

    def _deal(
        self,
        order: TradeOrder,
        buy: bool,
        entry: int,
        identifier: int,
        volume: Decimal,
        price: Decimal,
        profit: Decimal,
        at: float,
        reason: int,
    ) -> TradeDeal:
        return TradeDeal(
            ticket=self._state.new_ticket(),
            order=order.ticket,
            time=int(at),
            time_msc=int(at * 1000),
            type=c.DEAL_TYPE_BUY if buy else c.DEAL_TYPE_SELL,
            entry=entry,
            magic=order.magic,
            position_id=identifier,
            reason=reason,
            volume=float(volume),
            price=float(price),
            commission=0.0,
            swap=0.0,
            profit=float(profit),
            fee=0.0,
            symbol=order.symbol,
            comment=order.comment,
            external_id="",
        )

    def _put(self, pos: TradePosition) -> None:
        self._state.positions[pos.ticket] = pos
        watched = bool(pos.sl or pos.tp)
        if watched != (pos.ticket in self.protected) or watched:
            self.protected_version += 1
        (self.protected.add if watched else self.protected.discard)(pos.ticket)

    def _drop(self, ticket: int) -> None:
        del self._state.positions[ticket]
        if ticket in self.protected:
            self.protected.discard(ticket)
            self.protected_version += 1

    def _expose(self, symbol: str, ptype: int, volume: Decimal, price: Decimal) -> None:
        exp = self._exposure.setdefault((symbol, ptype), _Exposure())
        self._exposure_version += 1
        exp.volume += volume
        exp.volume_price += volume * price
        if exp.volume == 0:
            exp.volume_price = ZERO  # no residue of rounded averages once flat
