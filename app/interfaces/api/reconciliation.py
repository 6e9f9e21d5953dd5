"""GET /reconciliation: a position reconciliation pass, run now, and what it found."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Security

from app.interfaces.api.deps import Engine, require_token
from app.interfaces.api.models import ErrorMessage, ExactAnswer, Reconciliation
from app.interfaces.intake.detached import detached

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})

PASS_WAIT_S = 10.0  # a terminal that hangs makes the answer a 503, not a hung request


@router.get(
    "/reconciliation",
    summary="The broker's open positions of the console's magic against the recorded fills, per symbol",
    response_model=Reconciliation,
    responses={503: {"model": ErrorMessage, "description": "the broker cannot be reached: nothing was checked"}},
)
async def reconciliation(engine: Engine) -> ExactAnswer:
    try:
        # Detached: a pass that outlives the wait still finishes (and records what it corrects).
        async with asyncio.timeout(PASS_WAIT_S):
            report = await detached(engine.positions.check())
    except TimeoutError:
        raise HTTPException(503, f"the broker did not answer within {PASS_WAIT_S:g} s; the check goes on") from None
    if report is None:
        raise HTTPException(503, "the broker cannot be reached: positions were not checked")
    return ExactAnswer(Reconciliation.of(report))
