"""GET /positions and GET /account: what the desk holds at the broker, read now."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Security

from app.adapters.broker.types import BrokerUnavailable
from app.engine.exposure import read_positions
from app.interfaces.api.deps import Engine, require_token
from app.interfaces.api.models import Account, ErrorMessage, ExactAnswer, Positions

router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})
T = TypeVar("T")

READ_WAIT_S = 10.0  # a terminal that hangs makes the answer a 503, not a hung request
UNREACHABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorMessage, "description": "the broker cannot be reached: nothing was read"}
}


async def _from_broker(read: Awaitable[T], what: str) -> T:
    try:
        async with asyncio.timeout(READ_WAIT_S):
            return await read
    except TimeoutError:
        raise HTTPException(503, f"the broker did not answer within {READ_WAIT_S:g} s: {what} not read") from None
    except BrokerUnavailable as exc:
        raise HTTPException(503, f"the broker cannot be reached: {what} not read ({exc})") from None


@router.get(
    "/positions",
    summary="The broker's open positions per symbol, side and owner, with the reconciliation's mismatches",
    response_model=Positions,
    responses=UNREACHABLE,
)
async def positions(engine: Engine) -> ExactAnswer:
    view = await _from_broker(read_positions(engine.broker, engine.positions), "positions")
    return ExactAnswer(Positions.of(view))


@router.get(
    "/account",
    summary="The trading account's balance, equity, margin, free margin and margin level",
    response_model=Account,
    responses=UNREACHABLE,
)
async def account(engine: Engine) -> ExactAnswer:
    return ExactAnswer(Account.of(await _from_broker(engine.broker.account(), "the account")))
