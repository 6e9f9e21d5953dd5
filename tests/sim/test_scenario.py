"""Scenario files as a user writes them: defaults, overrides, and errors that name the key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.adapters.sim.scenario import MAJORS, Scenario, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[2] / "resources" / "scenarios"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_eight_majors_exist_by_default_with_realistic_specs() -> None:
    s = load_scenario(None)
    assert set(s.symbols) == {"EURUSD", "GBPUSD", "USDJPY", "USDCHF", "USDCAD", "AUDUSD", "NZDUSD", "EURJPY"}
    assert set(MAJORS) == set(s.symbols)
    for name, spec in s.symbols.items():
        assert spec.digits == (3 if name.endswith("JPY") else 5)
        assert spec.contract_size == 100000
        assert (spec.volume_min, spec.volume_step, spec.volume_max) == (Decimal("0.01"), Decimal("0.01"), 100)
        assert spec.trade_mode == "full" and spec.market_open
        assert spec.filling_modes == ("fok", "ioc")
        assert spec.liquidity_lots == 1000
        pip = 10 * spec.point
        assert Decimal("0.1") <= (spec.ask - spec.bid) / pip <= 2, name
        assert spec.currency_base + spec.currency_profit == name
    assert s.symbols["EURUSD"].bid == Decimal("1.09500")
    assert s.account.balance == 100000 and s.account.currency == "USD" and s.account.leverage == 30
    assert s.behaviour.fill_ratio == 1 and s.behaviour.state_file == ""


def test_a_table_for_a_major_overrides_only_its_keys(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "[symbols.EURUSD]\nask = 1.09580\nmarket_open = false\n"))
    eurusd = s.symbols["EURUSD"]
    assert eurusd.ask == Decimal("1.09580") and not eurusd.market_open
    assert eurusd.bid == Decimal("1.09500") and eurusd.digits == 5 and eurusd.filling_modes == ("fok", "ioc")
    assert s.symbols["GBPUSD"] == Scenario().symbols["GBPUSD"]


def test_prices_stay_exact_decimals(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "[symbols.EURUSD]\nbid = 1.1\nask = 1.10007\nvolume_step = 0.1\n"))
    assert s.symbols["EURUSD"].bid == Decimal("1.10000")
    assert s.symbols["EURUSD"].ask == Decimal("1.10007")
    assert s.symbols["EURUSD"].volume_step == Decimal("0.1")


def test_a_new_symbol_gets_the_defaults_plus_what_it_gives(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            "[symbols.GBPJPY]\nliquidity_lots = 5.0\n\n[symbols.XAUUSD]\nbid = 2330.50\nask = 2330.80\ndigits = 2\n",
        )
    )
    gbpjpy = s.symbols["GBPJPY"]
    assert gbpjpy.digits == 3 and gbpjpy.liquidity_lots == 5 and gbpjpy.contract_size == 100000
    assert (gbpjpy.currency_base, gbpjpy.currency_profit) == ("GBP", "JPY")
    # priced at the GBPUSD x USDJPY cross, 2 pips wide
    assert abs(gbpjpy.bid - Decimal("1.27006") * Decimal("151.506")) < Decimal("0.05")
    assert gbpjpy.ask - gbpjpy.bid == Decimal("0.020")
    gold = s.symbols["XAUUSD"]
    assert (gold.bid, gold.ask, gold.digits, gold.volume_step) == (
        Decimal("2330.50"),
        Decimal("2330.80"),
        2,
        Decimal("0.01"),
    )


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[symbols.EURUSD]\ndigits = "five"\n', "symbols.EURUSD.digits: expected an integer"),
        ("[symbols.EURUSD]\ndigits = 4.5\n", "symbols.EURUSD.digits: expected an integer"),
        ("[symbols.EURUSD]\nbidd = 1.1\n", "symbols.EURUSD.bidd: unknown key"),
        ('[symbols.EURUSD]\ntrade_mode = "sometimes"\n', "symbols.EURUSD.trade_mode: expected one of"),
        ('[symbols.EURUSD]\nfilling_modes = ["fok", "all"]\n', "symbols.EURUSD.filling_modes[1]"),
        ('[symbols.EURUSD]\nmarket_open = "yes"\n', "symbols.EURUSD.market_open: expected true or false"),
        ("[symbols.EURUSD]\nbid = 1.095001\n", "symbols.EURUSD.bid: 1.095001 has more decimals"),
        ("[symbols.EURUSD]\nbid = 1.2\nask = 1.1\n", "symbols.EURUSD.ask: must not be below bid"),
        ("[symbols.EURUSD]\nvolume_step = 0\n", "symbols.EURUSD.volume_step: must be positive"),
        ('[account]\nleverage = "30"\n', "account.leverage: expected an integer"),
        ('[account]\ncurrency = "Dollars"\n', "account.currency: expected a 3-letter currency code"),
        ("[behaviour]\nfill_ratio = 1.5\n", "behaviour.fill_ratio: expected 0..1"),
        ("[behaviour]\npending_fill_after_s = -2\n", "behaviour.pending_fill_after_s"),
        (
            "[symbols.USDCAD]\npending_fill_after_s = -3\n",
            "symbols.USDCAD.pending_fill_after_s: expected >= 0 or -1, got -3",
        ),
        ('[symbols.USDCAD]\npending_fill_after_s = "30"\n', "symbols.USDCAD.pending_fill_after_s: expected a number"),
        ('[behaviour]\nconnection_drop_before = [1, "2"]\n', "behaviour.connection_drop_before[1]"),
        ("[behaviour]\nconnection_drop_after = [0]\n", "behaviour.connection_drop_after[0]"),
        ("[behaviour]\nrequote = 3\n", "behaviour.requote: unknown key"),
        ("[behavior]\nrequote_every = 3\n", "behavior: unknown key"),
        ("[symbols]\nEURUSD = 1\n", "symbols.EURUSD: expected a table"),
        ("[symbols.ABCDEF]\ndigits = 5\n", "symbols.ABCDEF.bid: required"),
    ],
)
def test_mistakes_are_refused_naming_the_key(tmp_path: Path, toml: str, message: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ValueError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_a_symbols_resting_time_is_its_own_and_the_others_keep_the_scenario_wide_one(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            "[behaviour]\npending_fill_after_s = 2.0\n"
            "[symbols.USDCAD]\npending_fill_after_s = -1\n"
            "[symbols.EURUSD]\npending_fill_after_s = 0\n",
        )
    )
    assert s.symbols["USDCAD"].pending_fill_after_s == -1
    assert s.symbols["EURUSD"].pending_fill_after_s == 0  # 0 is a value of its own, not "unset"
    assert s.symbols["GBPUSD"].pending_fill_after_s is None and s.behaviour.pending_fill_after_s == 2


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[account\n")
    with pytest.raises(ValueError, match=r"scenario\.toml: not valid TOML"):
        load_scenario(path)


def test_with_overrides_applies_and_validates_like_a_file() -> None:
    s = Scenario().with_overrides(
        account={"balance": 500.0}, symbols={"EURUSD": {"filling_modes": ["ioc"]}}, behaviour={"requote_every": 2}
    )
    assert s.account.balance == Decimal("500.0") and s.account.leverage == 30
    assert s.symbols["EURUSD"].filling_modes == ("ioc",)
    assert s.behaviour.requote_every == 2
    assert Scenario().with_overrides() == Scenario()
    with pytest.raises(ValueError, match=r"behaviour\.requote_every: expected an integer"):
        Scenario().with_overrides(behaviour={"requote_every": "2"})


def test_every_sample_scenario_loads() -> None:
    files = sorted(p.name for p in SCENARIOS.glob("*.toml"))
    assert {
        "default.toml",
        "requote.toml",
        "partial_fill.toml",
        "wide_spread.toml",
        "market_closed.toml",
        "no_margin.toml",
        "stale_quotes.toml",
        "disconnects.toml",
        "slow_fill.toml",
        "never_fills.toml",
        "broker_reject.toml",
        "latency.toml",
        "demo.toml",
        "instant.toml",
        "exchange.toml",
    } <= set(files)
    for name in files:
        load_scenario(SCENARIOS / name)


def test_the_commented_default_file_is_the_defaults() -> None:
    assert load_scenario(SCENARIOS / "default.toml") == Scenario()


def test_sample_scenarios_say_what_their_names_say() -> None:
    assert load_scenario(SCENARIOS / "partial_fill.toml").behaviour.fill_ratio == Decimal("0.7")
    assert load_scenario(SCENARIOS / "partial_fill.toml").symbols["EURUSD"].filling_modes == ("ioc",)
    assert load_scenario(SCENARIOS / "slow_fill.toml").behaviour.pending_fill_after_s == 2
    assert load_scenario(SCENARIOS / "never_fills.toml").behaviour.pending_fill_after_s == -1
    assert load_scenario(SCENARIOS / "broker_reject.toml").behaviour.reject_retcode == 10006
    assert load_scenario(SCENARIOS / "latency.toml").behaviour.latency_ms == 50
    assert load_scenario(SCENARIOS / "demo.toml").behaviour.random_walk
    assert load_scenario(SCENARIOS / "no_margin.toml").account.balance < 3650
    for name, mode in (("instant.toml", "instant"), ("exchange.toml", "exchange")):
        assert {s.execution_mode for s in load_scenario(SCENARIOS / name).symbols.values()} == {mode}


def test_the_account_s_margin_mode_and_a_symbol_s_execution_mode() -> None:
    s = scenario_from_dict(
        {"account": {"margin_mode": "Netting"}, "symbols": {"EURUSD": {"execution_mode": "request"}}}
    )
    assert (s.account.margin_mode, s.symbols["EURUSD"].execution_mode) == ("netting", "request")
    assert (Scenario().account.margin_mode, Scenario().symbols["GBPUSD"].execution_mode) == ("hedging", "market")
    with pytest.raises(ValueError, match=r"account\.margin_mode: expected one of hedging, netting, got 'fifo'"):
        scenario_from_dict({"account": {"margin_mode": "fifo"}})


def test_scenario_from_dict_takes_a_parsed_document() -> None:
    s = scenario_from_dict({"behaviour": {"latency_ms": 5}})
    assert s.behaviour.latency_ms == 5.0
