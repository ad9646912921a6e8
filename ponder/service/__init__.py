"""The RAG question-answering service: ponder's retrieval behind HTTP.

``create_app(config)`` builds the ASGI app (FastAPI); ``ponder serve`` runs it under uvicorn.
Collections (a document store plus an index) live under the configured data directory and are
committed atomically; API keys are stored hashed and scoped to collections; model calls go
through one batching queue per loaded model. See ``docs/service.md``.
"""

from __future__ import annotations

from ponder.service.config import ServiceConfig, load_config

__all__ = ["ServiceConfig", "load_config", "create_app"]


def create_app(config: ServiceConfig | None = None, **kwargs):
    """Build the ASGI app (imports FastAPI lazily). See :func:`ponder.service.app.create_app`."""
    from ponder.service.app import create_app as _create

    return _create(config, **kwargs)
