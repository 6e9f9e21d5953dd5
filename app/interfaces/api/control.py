"""The kill switch (POST /halt, /resume) and what monitoring reads (GET /health, /metrics)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Security
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app import __version__
from app.adapters.broker.connection import ConnectionSupervisor
from app.engine.engine import ExecutionEngine
from app.engine.metrics import compute_metrics, prometheus_text
from app.interfaces.api.deps import Caller, Engine, require_token
from app.interfaces.api.models import (
    BrokerLink,
    ErrorMessage,
    HaltRequest,
    HaltState,
    Health,
    MetricsRecord,
    RpmHaltRecord,
)

log = logging.getLogger(__name__)

public = APIRouter()
router = APIRouter(dependencies=[Security(require_token)], responses={401: {"model": ErrorMessage}})
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


BROKER_CHECK_S = 2.0  # a terminal that hangs makes /health say so, not hang with it


async def broker_connected(engine: ExecutionEngine) -> bool:
    try:
        return await asyncio.wait_for(engine.broker.is_connected(), BROKER_CHECK_S)
    except Exception:  # a health probe answers "not connected"; it never fails itself
        log.warning("broker connection check failed", exc_info=True)
        return False


async def _database_ok(engine: ExecutionEngine) -> bool:
    try:
        await engine.store.ping()
    except Exception:
        log.warning("database check failed", exc_info=True)
        return False
    return True


@public.get("/health", summary="Liveness for monitoring (no token needed)", response_model=Health)
async def health(engine: Engine, request: Request) -> Health:
    connected = await broker_connected(engine)
    database = await _database_ok(engine)
    link: ConnectionSupervisor | None = request.app.state.link
    positions = engine.positions.status
    return Health(
        status="ok" if connected and database and positions != "mismatch" else "degraded",
        broker_connected=connected,
        database="ok" if database else "unavailable",
        trading_halted=engine.halted,
        rpm_halt=RpmHaltRecord(reason=rpm.reason, since=rpm.since) if (rpm := engine.rpm_halt.current) else None,
        version=__version__,
        broker=engine.broker.name,
        broker_link=BrokerLink(**dataclasses.asdict(link.status)) if link is not None else None,
        positions=positions,
    )


@router.post("/halt", summary="Halt trading: every execution is REJECTED TRADING_HALTED", response_model=HaltState)
async def halt(body: HaltRequest, engine: Engine, caller: Caller) -> HaltState:
    await engine.halt(body.reason, by=caller)
    return HaltState(trading_halted=True, halt_reason=engine.halt_reason)


@router.post("/resume", summary="Resume trading after a halt", response_model=HaltState)
async def resume(engine: Engine, caller: Caller) -> HaltState:
    await engine.resume(by=caller)
    return HaltState(trading_halted=False, halt_reason=None)


@router.get(
    "/metrics",
    summary="Execution quality metrics and active alerts",
    response_model=MetricsRecord,
    responses={200: {"content": {PROMETHEUS.split(";")[0]: {"schema": {"type": "string"}}}}},
)
async def metrics(
    engine: Engine,
    fmt: Annotated[Literal["json", "prometheus"], Query(alias="format")] = "json",
) -> Response:
    connected = await broker_connected(engine)
    m = await compute_metrics(engine.store, broker_connected=connected, extra_alerts=engine.positions.alerts())
    if fmt == "prometheus":
        return PlainTextResponse(prometheus_text(m), media_type=PROMETHEUS)
    return JSONResponse({**m.as_json(), "broker_connected": connected})
