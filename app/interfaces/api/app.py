"""The local HTTP API (docs/CONTRACT.md §4): one FastAPI application over one running engine.

create_app() only wires routes to the engine it is given; serving it (host, port, the loop it runs
on) is app.host.service's business, so the headless server and the Qt console serve the very same app.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.adapters.broker.connection import ConnectionSupervisor
from app.domain.contracts import RPMOutput
from app.engine.engine import ExecutionEngine
from app.interfaces.api import audit_trail, control, errors, executions, positions, reconciliation, tca
from app.interfaces.api.hosts import HostCheck
from app.interfaces.api.models import ErrorMessage

_DESCRIPTION = (
    "Executes RPM-approved FX trades on MetaTrader 5. Every endpoint but /health needs "
    "`Authorization: Bearer <token>` (EXEC_API_TOKEN, or the file `<data-dir>/api-token`)."
)
# Bodies other than POST /execute's are a few bytes (a reason, a name); /execute reads and bounds its own.
_SMALL_BODY_LIMIT = 64 * 1024
_READS_OWN_BODY = {"/execute"}
_FIELD_ERRORS = {
    "description": "each bad field named: {detail: [{field, message}]}",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FieldErrors"}}},
}
_MESSAGE = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}}
# FastAPI answers these itself for the bodies it reads (/execute reads its own and answers 413 and 422).
_BODY_ERRORS = {
    "400": {
        "description": "the body cannot be read (not UTF-8, or not what its Content-Type says)",
        "content": _MESSAGE,
    },
    "413": {"description": f"body over {_SMALL_BODY_LIMIT} bytes", "content": _MESSAGE},
}
_WRONG_HOST = {"description": "the Host header names another server (DNS rebinding)", "content": _MESSAGE}


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    await errors.message_response(413, f"request body over {_SMALL_BODY_LIMIT} bytes")(scope, receive, send)


class _SmallBodyLimit:
    """413 for a body larger than the small routes take: refused on its Content-Length before it is
    read; a chunked one (no length declared) is read up to the limit and no further."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _READS_OWN_BODY:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > _SMALL_BODY_LIMIT:
                await _too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > _SMALL_BODY_LIMIT:
                await _too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # past the body: a disconnect, as the app would see it
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the RPMOutput schema that POST /execute refers to (its body is read raw),
    our one 422 shape in place of FastAPI's default one, and the answers every route may give before it
    runs (a body that cannot be read, a Host header naming another server)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        rpm = RPMOutput.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(rpm.pop("$defs", {}))
        components["RPMOutput"] = rpm
        components.setdefault("ErrorMessage", ErrorMessage.model_json_schema())
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "HTTPValidationError" in str(responses.get("422")):
                    responses["422"] = _FIELD_ERRORS
                if "requestBody" in operation and path not in _READS_OWN_BODY:
                    responses.update(_BODY_ERRORS)
                if app.state.host is not None:
                    responses["421"] = _WRONG_HOST
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(
    engine: ExecutionEngine, token: str, link: ConnectionSupervisor | None = None, *, host: str | None = None
) -> FastAPI:
    """The API over `engine`, answering only callers that present `token` (but /health, which also
    tells `link`'s story when given). Served on `host`, it answers only requests whose Host header
    names it; None: called in process, no Host to check."""
    if not token:
        raise ValueError("the API needs a non-empty token")
    app = FastAPI(title="FX execution engine", version=__version__, description=_DESCRIPTION, redoc_url=None)
    app.state.engine = engine
    app.state.token = token
    app.state.link = link
    app.state.host = host
    errors.install(app)
    app.add_middleware(_SmallBodyLimit)
    if host is not None:
        app.add_middleware(HostCheck, host=host)  # added last: the outermost, before anything is read
    app.include_router(control.public)
    app.include_router(executions.router)
    app.include_router(control.router)
    app.include_router(audit_trail.router)
    app.include_router(reconciliation.router)
    app.include_router(positions.router)
    app.include_router(tca.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
