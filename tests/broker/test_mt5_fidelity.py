"""The simulator is the fake MetaTrader5 module of the tests: its names must be the real package's.

The lists in tests/data were read off the real package (MetaTrader5 5.0.6231, win_amd64 wheel): its
__init__.py for the constants, the strings of its _core extension for the functions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import app.adapters.mt5.constants as constants
from app.adapters.mt5 import records
from app.adapters.sim.terminal import SimulatedTerminal

DATA = Path(__file__).resolve().parents[1] / "data"


def real_constants() -> dict[str, int]:
    lines = (DATA / "mt5_constants.txt").read_text().splitlines()
    return {name: int(value) for name, value in (line.split("=") for line in lines if not line.startswith("#"))}


def real_functions() -> list[str]:
    return [line for line in (DATA / "mt5_functions.txt").read_text().splitlines() if not line.startswith("#")]


def test_the_constants_module_is_the_real_packages_list() -> None:
    ours = {name: getattr(constants, name) for name in dir(constants) if name.isupper()}
    assert ours == real_constants()


def test_the_simulator_carries_every_real_constant_with_its_value() -> None:
    sim = SimulatedTerminal()
    assert {name: getattr(sim, name, None) for name in real_constants()} == real_constants()


@pytest.mark.parametrize("name", real_functions())
def test_the_simulator_offers_every_real_function(name: str) -> None:
    assert callable(getattr(SimulatedTerminal(), name, None))


@pytest.mark.parametrize(
    ("record", "first", "last", "count"),
    [
        (records.TradeOrder, "ticket", "external_id", 24),
        (records.TradeDeal, "ticket", "external_id", 18),
        (records.TradePosition, "ticket", "external_id", 19),
        (records.OrderSendResult, "retcode", "request", 11),
        (records.OrderCheckResult, "retcode", "request", 9),
        (records.Tick, "time", "volume_real", 8),
        (records.TradeRequest, "action", "position_by", 17),
        (records.AccountInfo, "login", "company", 28),
        (records.TerminalInfo, "community_account", "commondata_path", 22),
    ],
)
def test_result_tuples_keep_the_real_field_order(record: type, first: str, last: str, count: int) -> None:
    fields = record._fields  # type: ignore[attr-defined]
    assert (fields[0], fields[-1], len(fields)) == (first, last, count)


def test_results_are_named_tuples_like_the_real_ones() -> None:
    sim = SimulatedTerminal()
    sim.initialize()
    tick = sim.symbol_info_tick("EURUSD")
    assert tick._asdict()["bid"] == tick[1] == tick.bid
    info = sim.symbol_info("EURUSD")
    assert info._fields.index("trade_contract_size") < info._fields.index("volume_min") < info._fields.index("name")
