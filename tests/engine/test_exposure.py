"""Open positions and the account as the desk sees them, read through the adapter from the simulated broker,
on hedging and netting accounts, against the simulator's own positions_get and account_info."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.adapters.broker.volume import exact
from app.engine.exposure import PositionLine, read_positions
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory
from tests.trades import MANUAL, trade_at_the_broker


async def execute(h: Harness, **kwargs: Any) -> None:
    parsed, raw = rpm(**kwargs)
    await h.engine.execute(parsed, raw=raw, channel="test")


async def trade_a_morning(h: Harness) -> None:
    """EURUSD bought twice at different prices and sold once, USDJPY sold; then EURUSD rises 20 pips."""
    await execute(h, units=100_000)  # at the ask, 1.09510
    h.sim.set_quote("EURUSD", "1.09520", "1.09530")
    await execute(h, units=50_000)  # at 1.09530
    await execute(h, units=30_000, direction=-1)  # at the bid, 1.09520
    await execute(h, symbol="USDJPY", units=20_000, direction=-1)
    h.sim.set_quote("EURUSD", "1.09720", "1.09730")


def held(line: PositionLine) -> tuple[str, int, bool, Decimal, Decimal | None]:
    return (line.symbol, line.direction, line.ours, line.lots, line.units)


def the_simulator_s(h: Harness, line: PositionLine) -> tuple[Decimal, Decimal, Decimal]:
    """The line's lots, floating profit and swap summed from the simulator's own positions."""
    mine = [p for p in h.sim.positions_get() or () if str(p.ticket) in line.tickets]
    assert len(mine) == len(line.tickets)
    return (
        sum((exact(p.volume) for p in mine), Decimal(0)),
        sum((exact(p.profit) for p in mine), Decimal(0)),
        sum((exact(p.swap) for p in mine), Decimal(0)),
    )


async def test_a_hedging_account_shows_each_side_apart(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(account={"margin_mode": "hedging"})
    await trade_a_morning(h)

    view = await read_positions(h.broker, h.engine.positions)

    assert view.currency == "USD"
    eur_long, eur_short, jpy_short = view.lines
    assert [held(line) for line in view.lines] == [
        ("EURUSD", 1, True, Decimal("1.5"), Decimal(150_000)),
        ("EURUSD", -1, True, Decimal("0.3"), Decimal(30_000)),
        ("USDJPY", -1, True, Decimal("0.2"), Decimal(20_000)),
    ]
    # (1.0 × 1.09510 + 0.5 × 1.09530) / 1.5, to two digits beyond the quote
    assert eur_long.average_price == Decimal("1.0951667")
    assert (eur_short.average_price, eur_short.current_price) == (Decimal("1.0952"), Decimal("1.0973"))
    assert eur_long.current_price == Decimal("1.0972")  # a long closes at the bid
    assert eur_long.profit > 0 > eur_short.profit  # the market rose
    assert jpy_short.profit < 0  # the spread paid, nothing else moved
    for line in view.lines:
        assert (line.lots, line.profit, line.swap) == the_simulator_s(h, line)
        assert line.mismatch is None
    assert len(eur_long.tickets) == 2
    assert view.profit == exact(h.sim.account_info().profit)


async def test_a_netting_account_shows_one_net_line_per_symbol(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(account={"margin_mode": "netting"})
    await trade_a_morning(h)

    view = await read_positions(h.broker, h.engine.positions)

    eur, jpy = view.lines
    assert [held(line) for line in view.lines] == [
        ("EURUSD", 1, True, Decimal("1.2"), Decimal(120_000)),
        ("USDJPY", -1, True, Decimal("0.2"), Decimal(20_000)),
    ]
    (position,) = h.sim.positions_get(symbol="EURUSD") or ()
    assert eur.tickets == (str(position.ticket),)
    # the terminal's average over the two buys (a sell reduces a netting position without moving its price)
    assert eur.average_price == Decimal("1.0951667") == exact(position.price_open).quantize(Decimal("1E-7"))
    assert eur.current_price == Decimal("1.0972")
    assert eur.profit > 0 > jpy.profit
    for line in view.lines:
        assert (line.lots, line.profit, line.swap) == the_simulator_s(h, line)
    assert view.profit == exact(h.sim.account_info().profit)


@pytest.mark.parametrize("margin_mode", ["hedging", "netting"])
async def test_the_account_figures_are_the_terminal_s(harness_factory: HarnessFactory, margin_mode: str) -> None:
    h = await harness_factory(account={"margin_mode": margin_mode, "balance": 250_000})
    flat = await h.broker.account()
    assert (flat.balance, flat.equity, flat.margin, flat.margin_level) == (250_000, 250_000, 0, None)
    assert (flat.currency, flat.margin_mode) == ("USD", margin_mode)

    await trade_a_morning(h)
    account = await h.broker.account()

    info = h.sim.account_info()
    assert account.balance == exact(info.balance) and account.equity == exact(info.equity)
    assert (account.margin, account.margin_free) == (exact(info.margin), exact(info.margin_free))
    assert account.margin_level == exact(info.margin_level) and account.margin_level > 100
    assert account.equity == account.balance + account.profit
    assert account.margin_free == account.equity - account.margin


async def test_a_foreign_position_is_its_own_line_never_the_console_s(harness: Harness) -> None:
    await execute(harness, units=100_000)
    manual = trade_at_the_broker(harness.sim, magic=MANUAL, comment="by hand", lots=0.25, direction=-1)

    view = await read_positions(harness.broker, harness.engine.positions)

    ours, foreign = view.lines
    assert held(ours) == ("EURUSD", 1, True, Decimal(1), Decimal(100_000))
    assert held(foreign) == ("EURUSD", -1, False, Decimal("0.25"), Decimal(25_000))
    assert foreign.tickets == (str(manual.order),)
    assert (foreign.lots, foreign.profit, foreign.swap) == the_simulator_s(harness, foreign)


async def test_the_reconciliation_s_mismatch_is_marked_on_the_console_s_lines_of_its_symbol(harness: Harness) -> None:
    await execute(harness, units=100_000)
    await execute(harness, symbol="USDJPY", units=10_000)
    trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment="hedge by hand", lots=0.5)
    trade_at_the_broker(harness.sim, magic=MANUAL, comment="by hand", lots=0.1, direction=-1)

    before = await read_positions(harness.broker, harness.engine.positions)
    assert before.reconciled_at is None and all(line.mismatch is None for line in before.lines)

    report = await harness.engine.positions.check()
    assert report is not None and report.status == "mismatch"
    view = await read_positions(harness.broker, harness.engine.positions)

    assert view.reconciled_at == report.checked_at
    marked = {(line.symbol, line.direction, line.ours): line.mismatch for line in view.lines}
    eurusd = marked[("EURUSD", 1, True)]
    assert eurusd is not None and (eurusd.recorded_units, eurusd.broker_units) == (100_000, 150_000)
    assert marked[("USDJPY", 1, True)] is None
    assert marked[("EURUSD", -1, False)] is None  # a foreign position is never the console's mismatch
    assert view.mismatches == (eurusd,)


async def test_a_mismatch_where_the_broker_holds_nothing_of_ours_is_listed_without_a_line(harness: Harness) -> None:
    await execute(harness, units=100_000)
    (position,) = harness.sim.positions_get() or ()
    trade_at_the_broker(harness.sim, magic=MANUAL, comment="closed by hand", direction=-1, position=position.ticket)

    await harness.engine.positions.check()
    view = await read_positions(harness.broker, harness.engine.positions)

    assert view.lines == ()
    (mismatch,) = view.mismatches
    assert (mismatch.symbol, mismatch.recorded_units, mismatch.broker_units) == ("EURUSD", 100_000, 0)
