"""GET /tca: transaction-cost analysis per symbol, hour of day or size band (app.store.tca_aggregates)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Security
from fastapi.responses import Response

from app.interfaces.api.deps import Engine, require_token
from app.interfaces.api.models import ErrorMessage, ExactAnswer, FieldErrors, TcaReport
from app.interfaces.api.ranges import EndDate, StartDate, read_range
from app.store.tca_aggregates import GroupBy

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})


@router.get(
    "/tca",
    summary="Transaction-cost analysis per group of executions",
    response_model=TcaReport,
    responses={422: {"model": FieldErrors}},
)
async def tca(
    engine: Engine,
    start_date: StartDate,
    end_date: EndDate,
    group_by: Annotated[GroupBy, Query(description="symbol, hour (UTC hour of arrival) or size (units band)")] = (
        GroupBy.SYMBOL
    ),
) -> Response:
    """Per group: counts, fill ratio, mean spread, and count, mean, p50 and p90 of the slippage against the
    intended price and against the arrival mid and of each mark-out, in pips positive when they cost."""
    dates = read_range(start_date, end_date)
    if isinstance(dates, Response):
        return dates
    start, end = dates
    groups = await engine.store.tca_groups(group_by, start, end)
    return ExactAnswer(TcaReport.of(start, end, group_by, groups))
