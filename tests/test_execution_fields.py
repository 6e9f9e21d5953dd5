"""One execution, one set of fields: the dataclass is the registry, and the table, the API's record, the
export and the seed are held to it. A column added in one place and forgotten in another fails here."""

from __future__ import annotations

import dataclasses
import random
import typing
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Integer, SmallInteger, String

from app.domain.contracts import ExecutionConfirmation, ExecutionStatus, RejectionReason
from app.domain.execution import COLUMN_OF, Execution
from app.interfaces.api.models import ExecutionRecord
from app.store.export import EXPORT_COLUMNS
from app.store.seed import seed_row
from app.store.tables import ExactDecimal, UtcDateTime, execution_logs

COLUMNS = {c.name: c for c in execution_logs.c}
FIELDS = {COLUMN_OF.get(f.name, f.name): f.name for f in dataclasses.fields(Execution)}  # column -> field
HINTS = typing.get_type_hints(Execution)


def test_every_field_of_an_execution_is_a_column_and_every_column_a_field() -> None:
    assert set(FIELDS) == set(COLUMNS)


def _kind(hint: object) -> type:
    """The one non-None type a field may hold."""
    kinds = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    assert len(kinds) == 1, hint
    return typing.cast(type, kinds[0])


def test_each_column_keeps_its_field_exactly() -> None:
    """Money in exact numbers, moments in UTC, enums and texts in text, counts in integers."""
    expected = {
        Decimal: ExactDecimal,
        datetime: UtcDateTime,
        str: String,
        ExecutionStatus: String,
        RejectionReason: String,
        int: (Integer, SmallInteger),
    }
    for column, field in FIELDS.items():
        kind = _kind(HINTS[field])
        assert isinstance(COLUMNS[column].type, expected[kind]), (field, kind, COLUMNS[column].type)


def test_the_api_record_declares_every_column() -> None:
    """GET /executions/{id} documents every column in its schema, not only as an undeclared extra."""
    declared = set(ExecutionConfirmation.model_fields) | set(ExecutionRecord.model_fields)
    assert set(COLUMNS) - declared == set()


def test_the_export_carries_every_column() -> None:
    exported = {column.name for _, column in EXPORT_COLUMNS if column.table is execution_logs}
    assert exported == set(COLUMNS)


def test_the_export_renames_only_the_rpm_order_id() -> None:
    """The CSV's headers are the columns' names, but for the contract's name of the RPM's order id."""
    renamed = {name: c.name for name, c in EXPORT_COLUMNS if c.table is execution_logs and name != c.name}
    assert renamed == {"rpm_order_id": "rpm_decision_id"}


def test_a_seeded_execution_has_every_column_and_reads_back_whole() -> None:
    rng = random.Random(7)
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    for n in range(40):  # every status the seed draws
        log, _request = seed_row(n, at, rng)
        assert set(log) == set(COLUMNS), n
        assert Execution.from_row(log).to_row() == log
