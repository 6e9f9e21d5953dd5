"""The console's own rules, without a window: how values read, who halted, which alerts wait."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.events import HaltChanged, HaltSource
from app.engine.metrics import Alert
from ui import formatting as fmt
from ui.alert_book import AlertBook
from ui.export_job import date_range
from ui.halt_state import HaltState

S, R = ExecutionStatus, RejectionReason
LOST = Alert("broker_connection_lost", "critical", "the broker terminal is not connected")
SLIPPAGE = Alert("slippage_high", "warning", "average slippage 6.1 pips > 5.0 pips")


def test_units_prices_and_pips_read_as_a_trader_writes_them() -> None:
    assert fmt.units(Decimal("95000")) == "95,000"
    assert fmt.units(Decimal("1250.50")) == "1,250.5"
    assert fmt.price(Decimal("1.0951"), "EURUSD") == "1.09510"
    assert fmt.price(Decimal("151.2"), "USDJPY") == "151.200"
    assert fmt.price(Decimal("1.095055"), "EURUSD") == "1.095055"  # never cuts a digit the store holds
    assert fmt.pips(Decimal("0.6")) == "+0.6" and fmt.pips(Decimal("-1.25")) == "-1.2"
    assert fmt.duration(45) == "45 s" and fmt.duration(185) == "3 min 05 s"


def test_a_database_password_never_reaches_the_status_bar() -> None:
    assert (
        fmt.masked_url("postgresql+psycopg://desk:s3cret@db:5432/exec") == "postgresql+psycopg://desk:***@db:5432/exec"
    )
    assert fmt.masked_url("sqlite:////data/executions.db") == "sqlite:////data/executions.db"


def test_the_two_halts_are_kept_apart_by_their_source() -> None:
    state = HaltState()
    t = datetime(2025, 1, 1, tzinfo=UTC)
    state.apply(HaltChanged(True, HaltSource.RPM, "drawdown 8%", "RPM", t))
    state.apply(HaltChanged(True, HaltSource.CONSOLE, "news", "trader", t + timedelta(seconds=1)))
    assert (state.rpm_reason, state.rpm_since, state.console_reason) == ("drawdown 8%", t, "news")
    state.apply(HaltChanged(False, HaltSource.CONSOLE, None, "trader", t + timedelta(seconds=2)))
    assert state.halted and state.console_reason is None  # the RPM still halts
    state.apply(HaltChanged(False, HaltSource.RPM, None, "RPM", t + timedelta(seconds=3)))
    assert not state.halted and state.rpm_since is None


def test_an_alert_waits_for_acknowledgement_and_is_not_raised_again_while_it_fires() -> None:
    book = AlertBook()
    assert [e.rule for e in book.update([LOST])] == ["broker_connection_lost"]
    assert book.update([LOST]) == []
    [entry] = book.unacknowledged()
    book.acknowledge(entry, "trader")
    assert book.update([LOST]) == [] and book.unacknowledged() == []
    assert book.update([]) == [] and book.entries == []  # cleared and acknowledged: gone
    assert [e.rule for e in book.update([LOST])] == ["broker_connection_lost"]  # fires again: a new alert


def test_an_alert_that_clears_unacknowledged_stays_listed_until_someone_has_seen_it() -> None:
    book = AlertBook()
    book.update([SLIPPAGE])
    book.update([])
    [entry] = book.entries
    assert not entry.active and entry.needs_ack


def test_the_export_days_are_read_as_the_command_line_reads_them() -> None:
    start, end = date_range(date(2025, 3, 1), date(2025, 3, 31))
    assert start == datetime(2025, 3, 1, tzinfo=UTC)
    assert end == datetime(2025, 4, 1, tzinfo=UTC)  # the last day is included
