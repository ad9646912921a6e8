"""HTTP errors: one JSON shape for all of them (``{"error": {message, type, code, param, hint}}``),
which is also the shape the OpenAI API and its clients expect."""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import JSONResponse

from ponder.errors import (
    BackendUnavailable,
    BudgetExceeded,
    ConfigError,
    IndexLoadError,
    ModelNotFound,
    ModelTimeout,
    PonderError,
)
from ponder.service.store import CollectionUnavailable, Conflict, DocumentUnavailable, NotFound

log = logging.getLogger("ponder.service")

TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
    413: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error",
    500: "server_error", 503: "server_error", 504: "server_error",
}


class ApiError(Exception):
    """An error with its HTTP status, raised anywhere in a request."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 hint: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.param, self.hint, self.headers = param, hint, headers


def body(status: int, code: str, message: str, param: str | None = None, hint: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": TYPES.get(status, "invalid_request_error"), "code": code,
                      "param": param, "hint": hint}}


def response(err: ApiError) -> JSONResponse:
    return JSONResponse(body(err.status, err.code, err.message, err.param, err.hint), status_code=err.status,
                        headers=err.headers)


def from_ponder(e: PonderError) -> ApiError:
    """Map ponder's error family to statuses."""
    if isinstance(e, NotFound):
        return ApiError(404, "not_found", e.message, hint=e.hint)
    if isinstance(e, CollectionUnavailable):
        return ApiError(503, "collection_unavailable", e.message, hint=e.hint)
    if isinstance(e, DocumentUnavailable):
        return ApiError(503, "document_unavailable", e.message, hint=e.hint)
    if isinstance(e, Conflict):
        return ApiError(409, "conflict", e.message, hint=e.hint)
    if isinstance(e, ModelNotFound):
        return ApiError(404, "model_not_found", e.message, param="model", hint=e.hint)
    if isinstance(e, BudgetExceeded):
        return ApiError(422, "budget_exceeded", e.message, param="budget", hint=e.hint)
    if isinstance(e, ModelTimeout):
        return ApiError(504, "model_timeout", e.message, hint=e.hint)
    if isinstance(e, BackendUnavailable | IndexLoadError):
        return ApiError(503, "unavailable", e.message, hint=e.hint)
    if isinstance(e, ConfigError):
        return ApiError(422, "invalid_value", e.message, hint=e.hint)
    return ApiError(400, "bad_request", e.message, hint=e.hint)


def as_api_error(e: BaseException) -> ApiError:
    """Any exception raised while answering, as the error the client sees (unknown ones are 500s,
    logged with their traceback)."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, PonderError):
        return from_ponder(e)
    log.error("unhandled error", exc_info=e)
    return ApiError(500, "internal_error", f"internal error: {type(e).__name__}")


def validation(errors: list[dict]) -> ApiError:
    """A 422 from pydantic/FastAPI validation errors, naming the first field at fault; a body
    that is not JSON at all is a 400 (there is no field to name)."""
    for err in errors:
        if err.get("type") == "json_invalid":
            where = err.get("loc", ())
            pos = where[1] if len(where) > 1 else None
            detail = (err.get("ctx") or {}).get("error") or err.get("msg", "invalid JSON")
            at = f" at character {pos}" if isinstance(pos, int) else ""
            return ApiError(400, "invalid_json", f"the request body is not valid JSON{at}: {detail}",
                            hint="send a JSON object with Content-Type: application/json")
    parts, first = [], None
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        first = first or where
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return ApiError(422, "invalid_body", "invalid request: " + "; ".join(parts[:5]), param=first)


def install_handlers(app) -> None:
    """Make every error a FastAPI app raises answer in the one JSON shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def api_error(request, exc: ApiError):
        return response(exc)

    async def ponder_error(request, exc: PonderError):
        return response(from_ponder(exc))

    async def invalid(request, exc: RequestValidationError):
        return response(validation(exc.errors()))

    async def http_error(request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return response(ApiError(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)))

    async def crash(request, exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return response(ApiError(500, "internal_error", f"internal error: {type(exc).__name__}"))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(PonderError, ponder_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, crash)
