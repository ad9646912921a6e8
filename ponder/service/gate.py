"""The :class:`Gate`: pure ASGI middleware in front of every route.

In order: it measures every request; for ``/v1/`` (and a private ``/metrics``) it refuses a
client address that has failed authentication too often (429, before any key work), checks
the API key (401; a damaged keys file is 503), counts failures against the client, and applies
the per-key rate limit (429); then it refuses bodies over ``limits.max_body_bytes`` (413) and
hands the request on with its body read once.
"""

from __future__ import annotations

import logging
import time

import anyio

from ponder.service.auth import ANONYMOUS, client_of, key_from_headers
from ponder.service.container import Service
from ponder.service.errors import ApiError, response
from ponder.service.keys import KeysUnavailable

log = logging.getLogger("ponder.service")

_BEARER = {"WWW-Authenticate": "Bearer"}


def _retry_after(wait: float) -> str:
    return str(max(1, int(wait + 0.999)))


class Gate:
    """Metrics, authentication, rate limits and the body-size limit, as ASGI middleware."""

    def __init__(self, app, service: Service):
        self.app = app
        self.service = service

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapped)
        except Exception as exc:  # noqa: BLE001 - answered here so the connection stays sound
            # letting it reach uvicorn would close the connection (clients see a reset)
            log.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc)
            if "sent" not in status:
                await response(ApiError(500, "internal_error", f"internal error: {type(exc).__name__}"))(
                    scope, receive, send_wrapped)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            svc = self.service
            svc.metrics.inc("ponder_requests_total", method=scope["method"], route=path, status=str(status["code"]))
            svc.metrics.observe("ponder_request_seconds", time.perf_counter() - start, route=path)

    async def _refuse(self, err: ApiError, scope, receive, send):
        if err.status == 429:
            self.service.metrics.inc("ponder_rate_limited_total")
        elif err.status == 401:
            self.service.metrics.inc("ponder_auth_failures_total")
        return await response(err)(scope, receive, send)

    async def _authenticate(self, scope):
        """The caller's principal, or the ApiError to answer with."""
        svc = self.service
        if not svc.config.require_keys:
            return ANONYMOUS
        client = client_of(scope)
        wait = svc.auth_failures.wait(client)
        if wait > 0:  # before any key work: a client guessing keys costs a dict lookup
            retry = _retry_after(wait)
            return ApiError(429, "rate_limited", f"too many failed authentications from this address; retry in {retry} s",
                            headers={"Retry-After": retry})
        key = key_from_headers(scope["headers"])
        if key is None:
            principal = None
        else:
            try:
                if svc.keys.slow(key):  # a key file from before SHA-256: scrypt, off the event loop
                    principal = await anyio.to_thread.run_sync(svc.principal_for, key)
                else:
                    principal = svc.principal_for(key)
            except KeysUnavailable as e:
                log.error("%s", e)
                return ApiError(503, "keys_unavailable", "the service's keys file is damaged: no key can be checked",
                                hint="the operator restores the keys file from a backup, or deletes it and creates "
                                     "keys again with `ponder serve keys create` (see docs/service.md)")
        if principal is None:
            svc.auth_failures.take(client)
            if key is None:
                return ApiError(401, "missing_api_key", "no API key given",
                                hint="send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'", headers=_BEARER)
            return ApiError(401, "invalid_api_key", "the API key is not valid (or was revoked)", headers=_BEARER)
        return principal

    async def _handle(self, scope, receive, send):
        svc = self.service
        cfg = svc.config
        path = scope["path"]
        state = scope.setdefault("state", {})
        guarded = path.startswith("/v1/") or path == "/v1" or (path == "/metrics" and not cfg.public_metrics)
        if guarded:
            principal = await self._authenticate(scope)
            if isinstance(principal, ApiError):
                return await self._refuse(principal, scope, receive, send)
            wait = svc.limiter.take(principal.key_id)
            if wait > 0:
                retry = _retry_after(wait)
                return await self._refuse(ApiError(429, "rate_limited", f"too many requests for this key; retry in {retry} s",
                                                   headers={"Retry-After": retry}), scope, receive, send)
            state["principal"] = principal
        # the body, bounded: refuse by Content-Length at once, or count while reading
        limit = cfg.limits.max_body_bytes
        for k, v in scope["headers"]:
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = 0
                if declared > limit:
                    return await self._too_large(scope, receive, send, limit)
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                part = message.get("body", b"")
                size += len(part)
                if size > limit:
                    return await self._too_large(scope, receive, send, limit)
                chunks.append(part)
                more = message.get("more_body", False)
            data = b"".join(chunks)
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": data, "more_body": False}
                return await receive()

            return await self.app(scope, replay, send)
        return await self.app(scope, receive, send)

    async def _too_large(self, scope, receive, send, limit):
        err = ApiError(413, "body_too_large", f"the request body is over the {limit}-byte limit",
                       hint="send fewer or smaller documents per request (limits.max_body_bytes)")
        return await response(err)(scope, receive, send)
