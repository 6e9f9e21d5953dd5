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

from app.interfaces.api.deps import Engine, require_token
from app.interfaces.api.models import AuditEventRecord, AuditTrail, ErrorMessage, FieldErrors
from app.interfaces.api.ranges import EndDate, StartDate, read_range
from app.interfaces.api.streaming import stream_text
from app.store.export import HEADER
from app.store.repository import AuditTrailRows, ExecutionStore

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})


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
    start_date: StartDate,
    end_date: EndDate,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    dates = read_range(start_date, end_date)
    if isinstance(dates, Response):
        return dates
    s, e = dates
    if fmt == "csv":
        body = stream_text(lambda out: engine.store.write_export_csv(out, s, e))
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="audit_{s:%Y%m%d}_{e:%Y%m%d}.csv"'},
        )
    body = stream_text(lambda out: _write_trail(engine.store, out, s, e))
    return StreamingResponse(body, media_type="application/json")
