"""POST /execute, GET /executions/{id}, GET /history, POST /executions/{id}/cancel.

An execution (or a cancellation), once handed to the engine, runs detached: a client that hangs up,
or a server that stops waiting for it at shutdown, ends the wait — never the execution.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse

from app.domain.contracts import ExecutionConfirmation, ExecutionStatus
from app.domain.execution import Execution
from app.engine.engine import CancelKind
from app.interfaces.api.body import read_body
from app.interfaces.api.deps import Caller, Engine, require_token
from app.interfaces.api.errors import field_errors_response
from app.interfaces.api.models import CancelRequest, ErrorMessage, ExactAnswer, ExecutionRecord, FieldErrors
from app.interfaces.intake.detached import detached
from app.interfaces.intake.oversize import refuse_oversize
from app.interfaces.intake.receive import MAX_PAYLOAD_BYTES, receive

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})

# The body is read raw (it is recorded verbatim), so its schema is declared here rather than inferred.
_RPM_OUTPUT_BODY = {
    "requestBody": {
        "required": True,
        "description": "An RPMOutput (docs/CONTRACT.md §2); at most 1 MiB",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RPMOutput"}}},
    }
}
Symbol = Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._#-]+$")]


def _answer(execution: Execution) -> JSONResponse:
    """200 once final; 202 while the engine is still working on it (PENDING, SUBMITTED)."""
    return ExactAnswer(status_code=200 if execution.status.is_final else 202, content=execution.confirmation())


@router.post(
    "/execute",
    summary="Execute an RPMOutput",
    response_model=ExecutionConfirmation,
    responses={
        202: {"model": ExecutionConfirmation, "description": "accepted, not final yet (wait=false)"},
        413: {"model": FieldErrors, "description": "body over 1 MiB (recorded)"},
        422: {"model": FieldErrors, "description": "not a valid RPMOutput (recorded); each bad field named"},
    },
    openapi_extra=_RPM_OUTPUT_BODY,
)
async def execute(
    request: Request,
    engine: Engine,
    wait: Annotated[bool, Query(description="false: answer 202 at once with the PENDING confirmation")] = True,
) -> JSONResponse:
    """The ExecutionConfirmation once final (or at the order timeout). The same order_id again answers
    the execution already made for it: nothing is sent twice."""
    body = await read_body(request, MAX_PAYLOAD_BYTES)
    source = request.client.host if request.client else None
    if body.too_large:
        error = await refuse_oversize(engine.store, channel="api", source=source, head=body.head, size=body.size)
        response = field_errors_response(error.errors)
        response.status_code = 413
        return response
    execution = await detached(receive(engine, body.head, channel="api", source=source, wait=wait))
    return _answer(execution)


@router.get(
    "/executions/{execution_id}",
    summary="The full record of one execution",
    response_model=ExecutionRecord,
    responses={404: {"model": ErrorMessage}},
)
async def get_execution(execution_id: str, engine: Engine) -> JSONResponse:
    store = engine.store
    execution = await store.get(execution_id)
    if execution is None:
        raise HTTPException(status_code=404, detail=f"no execution {execution_id!r}")
    request, fills, events, tca = await asyncio.gather(
        store.request(execution_id), store.fills(execution_id), store.audit_for(execution_id), store.tca(execution_id)
    )
    return ExactAnswer(ExecutionRecord.of(execution, request, fills, events, tca))


@router.get(
    "/executions",
    summary="The executions of one broker ticket or one RPM order id",
    response_model=list[ExecutionConfirmation],
    responses={422: {"model": ErrorMessage, "description": "neither or both of broker_order and rpm_order_id"}},
)
async def find_executions(
    engine: Engine,
    broker_order: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[0-9]+$")] = None,
    rpm_order_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    """DESIGN §3 step 8: searchable by broker order and by the RPM decision; an empty list when none."""
    if (broker_order is None) == (rpm_order_id is None):
        raise HTTPException(422, "give exactly one of broker_order (the broker's ticket) or rpm_order_id")
    if broker_order is not None:
        found = await engine.store.find_by_broker_order(broker_order)
    else:
        one = await engine.store.get_by_rpm_order(rpm_order_id or "")
        found = [one] if one is not None else []
    return ExactAnswer([e.confirmation() for e in found])


@router.get("/history", summary="Recent executions, newest first", response_model=list[ExecutionConfirmation])
async def history(
    engine: Engine,
    symbol: Symbol = None,
    status: Annotated[list[ExecutionStatus] | None, Query(description="repeatable")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> JSONResponse:
    executions = await engine.store.history(symbol=symbol, statuses=status or (), limit=limit)
    return ExactAnswer([e.confirmation() for e in executions])


@router.post(
    "/executions/{execution_id}/cancel",
    summary="Operator-approved cancellation of a stale order",
    response_model=ExecutionConfirmation,
    responses={
        404: {"model": ErrorMessage},
        409: {"model": ErrorMessage, "description": "nothing to cancel (a resting order that filled first: 200)"},
    },
)
async def cancel(execution_id: str, engine: Engine, caller: Caller, body: CancelRequest | None = None) -> JSONResponse:
    approved_by = body.approved_by if body is not None and body.approved_by else caller
    try:
        result = await detached(engine.try_cancel(execution_id, approved_by=approved_by))
    except LookupError:
        raise HTTPException(status_code=404, detail=f"no execution {execution_id!r}") from None
    if result.kind is CancelKind.REFUSED:
        raise HTTPException(status_code=409, detail=result.reason)
    return ExactAnswer(result.execution.confirmation())
