"""Every error the API answers is JSON with a message a person can act on.

422s share one shape whatever was wrong — the body, a query parameter, a date:
`{"detail": [{"field": "...", "message": "..."}]}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from app.domain.contracts import FieldError, InvalidRPMOutput

# FastAPI says where a parameter came from first; the field's own name is what a caller needs.
_SOURCES = ("body", "query", "path", "header", "cookie")


def field_errors_response(errors: Sequence[FieldError]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"detail": [e.model_dump() for e in errors]},
    )


def message_response(status_code: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"detail": message})


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in _SOURCES:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_error(error: dict[str, Any]) -> FieldError:
    if error.get("type") == "json_invalid":  # its loc is a character position, not a field
        return FieldError(field="body", message=f"invalid JSON: {error.get('ctx', {}).get('error', error['msg'])}")
    return FieldError(field=_field(error["loc"]), message=error["msg"])


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return field_errors_response([_field_error(e) for e in exc.errors()])


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidRPMOutput)
    return field_errors_response(exc.errors)


async def _client_gone(_request: Request, _exc: Exception) -> Response:
    # A client that went away (or was let go at its deadline) before its body was read: nobody to answer,
    # nothing to record, and no traceback to log for every one of them.
    return Response(status_code=400)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The server logs the traceback after this answer has gone out.
    return JSONResponse(
        status_code=500,
        content={"detail": f"internal error ({type(exc).__name__}); the engine log has the details"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(InvalidRPMOutput, _invalid_input)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
