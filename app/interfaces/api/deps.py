"""What every route asks for: the engine it works on, and a caller who presented the token.

The token is compared in constant time, so a wrong guess says nothing about how close it was.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.engine.engine import ExecutionEngine
from app.host.token import IDENTITY

# auto_error=False: a missing or malformed header gets our own 401, with the same message as a wrong token.
_bearer = HTTPBearer(auto_error=False, description="The token in EXEC_API_TOKEN or <data-dir>/api-token")


# Both are coroutines, so FastAPI runs them on the loop rather than on a worker thread per request.
async def get_engine(request: Request) -> ExecutionEngine:
    engine: ExecutionEngine = request.app.state.engine
    return engine


async def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> str:
    """The caller's identity for the audit trail; 401 unless the bearer token is the right one."""
    expected: bytes = request.app.state.token.encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if not hmac.compare_digest(given, expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong bearer token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return IDENTITY


Engine = Annotated[ExecutionEngine, Depends(get_engine)]
Caller = Annotated[str, Security(require_token)]
