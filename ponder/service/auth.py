"""Who is calling: API keys from request headers, the :class:`Principal` they stand for, and the
security schemes the OpenAPI description lists (the :class:`~ponder.service.gate.Gate` does the
checking before any route runs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from ponder.service.errors import ApiError

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (what OpenAI clients send)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Or the key in `X-API-Key`")

#: route dependencies that document the schemes; the Gate does the checking
AUTH = [Security(_bearer), Security(_header)]


@dataclass
class Principal:
    """Who is calling: a key's id, name and allowed collections."""

    key_id: str
    name: str
    collections: list[str] = field(default_factory=list)

    def allows(self, collection: str) -> bool:
        return "*" in self.collections or collection in self.collections

    def require(self, collection: str) -> None:
        """Raise 403 unless this key may use ``collection``."""
        if not self.allows(collection):
            raise ApiError(403, "forbidden_collection", f"this API key may not use collection {collection!r}",
                           param="collection", hint="ask for a key that lists this collection")


ANONYMOUS = Principal("anonymous", "anonymous", ["*"])


def key_from_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key of an ASGI request (``Authorization: Bearer`` or ``X-API-Key``), if any."""
    for k, v in headers:
        if k == b"authorization":
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif k == b"x-api-key" and v:
            return v.decode("latin-1").strip()
    return None


def client_of(scope: dict) -> str:
    """The peer address of an ASGI connection (what pre-authentication limits count by)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def principal_of(request: Request) -> Principal:
    """The principal the Gate stored on the request (anonymous when keys are not required)."""
    return request.scope.get("state", {}).get("principal") or ANONYMOUS
