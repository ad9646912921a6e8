"""The ASGI app: ``create_app(config)`` returns a FastAPI application.

Request path: the :class:`~ponder.service.gate.Gate` (ASGI middleware) measures every request,
limits failed authentication per client address (429), authenticates ``/v1/`` requests by API
key (401), applies the per-key rate limit (429) and refuses bodies over
``limits.max_body_bytes`` (413); the routes then check the key's collections (403), validate
bodies (422 naming the field; 400 for a body that is not JSON) and do the work. Blocking work
(retrieval, model calls, disk commits) runs in worker threads so the event loop only moves bytes.

The pieces: :mod:`~ponder.service.container` (the :class:`Service` every route uses),
:mod:`~ponder.service.auth`, :mod:`~ponder.service.ratelimit`, :mod:`~ponder.service.streaming`,
:mod:`~ponder.service.errors`, and the routers in :mod:`ponder.service.routes` and
:mod:`~ponder.service.openai_compat`.
"""

from __future__ import annotations

import contextlib

import anyio
from fastapi import FastAPI

from ponder import __version__
from ponder.service import openai_compat
from ponder.service.config import ServiceConfig, load_config
from ponder.service.container import Service
from ponder.service.errors import install_handlers
from ponder.service.gate import Gate
from ponder.service.routes import ask, collections, health, page

DESCRIPTION = (
    "Question answering over your documents with ponder's retrieval methods, plus an "
    "OpenAI-compatible chat endpoint. Every `/v1/` call needs an API key "
    "(`Authorization: Bearer <key>` or `X-API-Key`). Errors are JSON: "
    '`{"error": {"message", "type", "code", "param", "hint"}}`.'
)


def create_app(config: ServiceConfig | None = None, **overrides) -> FastAPI:
    """Build the service. ``config`` defaults to :func:`load_config` (file + environment)."""
    config = config or load_config(**overrides)
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        anyio.to_thread.current_default_thread_limiter().total_tokens = 64
        # questions beyond this many wait on the event loop (cheap) rather than as threads
        # fighting for the GIL; the model queue batches whatever is in flight
        service.ask_limiter = anyio.CapacityLimiter(config.limits.max_concurrent_asks)
        if config.preload:
            for name in config.model_names():
                await anyio.to_thread.run_sync(service.models.get, name)
        yield
        service.close()

    app = FastAPI(title="ponder RAG service", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.service = service
    app.add_middleware(Gate, service=service)
    install_handlers(app)
    for module in (health, collections, ask, openai_compat, page):
        app.include_router(module.router(service))
    return app
