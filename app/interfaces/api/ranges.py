"""The date range of a query (`start_date`, `end_date`), as /audit_trail and /tca take it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from app.domain.contracts import FieldError
from app.domain.dates import parse_end, parse_start
from app.interfaces.api.errors import field_errors_response

_DATE_HELP = "ISO date or date-time (UTC unless an offset is given)"
# What parse_start and parse_end take, said in the schema (an empty value is no date: 422 naming it);
# documented only, so that a bad date gets their message rather than FastAPI's.
_DATE_SCHEMA = {"minLength": len("YYYY-MM-DD"), "anyOf": [{"format": "date"}, {"format": "date-time"}]}

StartDate = Annotated[str, Query(max_length=40, description=_DATE_HELP, json_schema_extra=_DATE_SCHEMA)]
EndDate = Annotated[
    str,
    Query(
        max_length=40,
        description=_DATE_HELP + "; a bare date is inclusive; not before start_date",
        json_schema_extra=_DATE_SCHEMA,
    ),
]


def read_range(start_date: str, end_date: str) -> tuple[datetime, datetime] | Response:
    """[start, end) in UTC, or the 422 naming each bad field."""
    problems: list[FieldError] = []
    start = end = None
    try:
        start = parse_start(start_date)
    except ValueError as exc:
        problems.append(FieldError(field="start_date", message=str(exc)))
    try:
        end = parse_end(end_date)
    except ValueError as exc:
        problems.append(FieldError(field="end_date", message=str(exc)))
    if start is not None and end is not None and end < start:
        problems.append(FieldError(field="end_date", message="is before start_date"))
    if problems or start is None or end is None:
        return field_errors_response(problems)
    return start, end
