"""``GET /healthz`` and ``GET /metrics``: open to scrapers and probes, so they show counts and
model names only, never collection names or paths."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from ponder import __version__
from ponder.service import schemas
from ponder.service.container import Service
from ponder.service.metrics import CONTENT_TYPE


def router(service: Service) -> APIRouter:
    """The health and metrics routes of ``service``."""
    api = APIRouter(tags=["service"])
    config = service.config

    @api.get("/healthz", response_model=schemas.Health)
    def healthz():
        """Liveness and what is loaded. Needs no key, so it names no collection: a key that may
        use a damaged collection sees why in ``GET /v1/collections/{name}`` (503)."""
        return schemas.Health(
            status="ok", version=__version__, collections=len(service.store.collections),
            collections_unavailable=len(service.store.load_errors),
            models={n: n in service.models.queues for n in config.model_names()},
            jobs_active=service.jobs.active(),
        )

    @api.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                        **schemas.errors(401, 429, 503)})
    def metrics():
        """Prometheus metrics: requests, latencies, tokens, queue depth, ingestion."""
        service.metrics.set_gauge("ponder_ingest_jobs_active", service.jobs.active())
        service.metrics.set_gauge("ponder_collections", len(service.store.collections))
        for name, q in service.models.queues.items():
            service.metrics.set_gauge("ponder_queue_depth", q.depth, model=name)
        return PlainTextResponse(service.metrics.render(), media_type=CONTENT_TYPE)

    return api
