"""What counts as a divergence between the trace's answer and the simulator's, field by field."""

from __future__ import annotations

from app.adapters.trace.compare import Comparison


def compare(function: str, recorded: object, simulated: object) -> list[tuple[str, str]]:
    check = Comparison(3, function, {}, (1.095, 1.0951))
    check.answer(recorded, simulated)
    return [(d.kind, d.field) for d in check.found]


def test_a_field_the_simulator_lacks_and_one_it_adds() -> None:
    assert compare("symbol_info", {"a": 1, "b": 2}, {"b": 2, "c": 3}) == [("missing_field", "a"), ("extra_field", "c")]


def test_a_field_of_another_type() -> None:
    assert compare("symbol_info", {"digits": 5}, {"digits": "5"}) == [("type", "digits")]
    assert compare("symbol_info", {"volume_min": 0.01}, {"volume_min": 1}) == [("type", "volume_min")]


def test_volumes_and_prices_are_compared_exactly_tickets_and_times_are_not() -> None:
    recorded = {"volume": 0.3, "price": 1.0951, "order": 9_000_017, "time_msc": 1, "comment": "Request executed"}
    simulated = {"volume": 0.3, "price": 1.0951, "order": 1_000_001, "time_msc": 2, "comment": "Done"}
    assert compare("order_send", recorded, simulated) == []
    assert compare("order_send", {**recorded, "volume": 0.2, "price": 1.0953}, simulated) == [
        ("volume", "volume"),
        ("price", "price"),
    ]


def test_a_price_divergence_says_where_the_quote_was() -> None:
    check = Comparison(3, "order_send", {}, (1.095, 1.0951))
    check.answer({"price": 1.0958}, {"price": 1.0951})
    assert check.found[0].text() == (
        "line 3 order_send: price: trace 1.0958, simulator 1.0951"
        " (the quote was 1.095/1.0951; the trace's price is beyond it, the simulator's within)"
    )


def test_the_state_of_the_account_and_none_against_an_answer() -> None:
    assert compare("positions_get", [{"volume": 0.1}], []) == [("state", "count")]
    assert compare("orders_total", 2, 1) == [("state", "")]
    assert compare("account_info", {"balance": 100000.0}, {"balance": 99990.0}) == [("state", "balance")]
    assert compare("order_send", None, {"retcode": 10009}) == [("answer", "")]
    assert compare("terminal_info", {"build": 4755}, {"build": 5120}) == []  # the terminal's own, not the broker's


def test_the_quotes_history_is_compared_by_its_shape_only() -> None:
    """A trace shows the quotes at its calls, not every tick: another count or other prices are the
    simulator's own history; a field missing or of another type is still the package's shape."""
    tick = {"time": 1, "bid": 1.095, "ask": 1.0951, "time_msc": 1000, "flags": 6, "volume_real": 0.0}
    other = {**tick, "bid": 1.0948, "time_msc": 1200}
    assert compare("copy_ticks_range", [tick] * 79, [other] * 80) == []
    assert compare("copy_ticks_range", [tick], [{k: v for k, v in other.items() if k != "flags"}]) == [
        ("missing_field", "[0].flags")
    ]
    assert compare("copy_rates_from_pos", [{"open": 1.1, "tick_volume": 3}], [{"open": 1.1, "tick_volume": 3.0}]) == [
        ("type", "[0].tick_volume")
    ]
    assert compare("copy_ticks_range", None, [tick]) == [("answer", "")]
