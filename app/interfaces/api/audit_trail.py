"""GET /audit_trail: the compliance export for a date range, as JSON or as the export's own CSV.

Both are streamed from one read transaction on a thread of their own, so a year of executions costs
the API no more memory than a day. The CSV is written by app.store.export.write_csv, the very function
behind `execution-engine export`, so the two give the same bytes for the same range.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal, TextIO

from fastapi import APIRouter, Query, Security
from fastapi.responses import Response, StreamingResponse

from app.domain.contracts import FieldError
from app.domain.dates import parse_end, parse_start
from app.interfaces.api.deps import Engine, require_token
from app.interfaces.api.errors import field_errors_response
from app.interfaces.api.models import AuditEventRecord, AuditTrail, ErrorMessage, FieldErrors
from app.interfaces.api.streaming import stream_text
from app.store.export import HEADER
from app.store.repository import AuditTrailRows, ExecutionStore

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})
_DATE_HELP = "ISO date or date-time (UTC unless an offset is given)"
# What parse_start and parse_end take, said in the schema (an empty value is no date: 422 naming it);
# documented only, so that a bad date gets their message rather than FastAPI's.
_DATE_SCHEMA = {"minLength": len("YYYY-MM-DD"), "anyOf": [{"format": "date"}, {"format": "date-time"}]}


def _z(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_json(trail: AuditTrailRows, out: TextIO, start: datetime, end: datetime) -> None:
    """The AuditTrail document, written piece by piece as the rows come."""
    out.write(f'{{"start_date": {json.dumps(_z(start))}, "end_date": {json.dumps(_z(end))}, "records": [')
    for i, cells in enumerate(trail.records):
        # The CSV's cells, with an empty cell as null.
        record = {name: cell if cell != "" else None for name, cell in zip(HEADER, cells, strict=True)}
        out.write(("," if i else "") + json.dumps(record))
    out.write('], "events": [')
    for i, audit_event in enumerate(trail.events):
        event = AuditEventRecord.of(audit_event)
        out.write(("," if i else "") + event.model_dump_json())
    out.write("]}")


def _write_trail(store: ExecutionStore, out: TextIO, start: datetime, end: datetime) -> None:
    with store.audit_trail(start, end) as trail:
        write_json(trail, out, start, end)


@router.get(
    "/audit_trail",
    summary="Compliance audit trail for a date range (JSON, or the export CSV)",
    response_model=AuditTrail,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, 422: {"model": FieldErrors}},
)
async def audit_trail(
    engine: Engine,
    start_date: Annotated[str, Query(max_length=40, description=_DATE_HELP, json_schema_extra=_DATE_SCHEMA)],
    end_date: Annotated[
        str,
        Query(
            max_length=40,
            description=_DATE_HELP + "; a bare date is inclusive; not before start_date",
            json_schema_extra=_DATE_SCHEMA,
        ),
    ],
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
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

    s, e = start, end
    if fmt == "csv":
        body = stream_text(lambda out: engine.store.write_export_csv(out, s, e))
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit_{s:%Y%m%d}_{e:%Y%m%d}.csv"'},
        )
    body = stream_text(lambda out: _write_trail(engine.store, out, s, e))
    return StreamingResponse(body, media_type="application/json")
