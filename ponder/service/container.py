"""The :class:`Service`: everything a request may need (config, keys, store, models, jobs,
limiters, metrics), built once per app and reached by routes through ``request.app.state``."""

from __future__ import annotations

import time

from fastapi import Request

from ponder.errors import PonderError
from ponder.service.auth import Principal
from ponder.service.config import ServiceConfig
from ponder.service.errors import ApiError
from ponder.service.fetch import AllowList, document_name, fetch_url
from ponder.service.jobs import Jobs
from ponder.service.keys import KeyStore
from ponder.service.metrics import Metrics
from ponder.service.queue import ModelPool
from ponder.service.ratelimit import RateLimiter
from ponder.service.store import Embedders, Store
from ponder.usage import Budget


class Service:
    """Everything a request may need, built once per app."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.started = time.time()
        if config.torch_threads:
            import torch

            torch.set_num_threads(config.torch_threads)
        self.metrics = Metrics()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys = KeyStore(config.keys_path)
        self.embedders = Embedders(config.embedder)
        self.store = Store(config.data_dir, self.embedders, default_kind=config.index)
        self.models = ModelPool(config, self.metrics)
        self.limiter = RateLimiter(config.limits.rate_per_minute, config.limits.rate_burst)
        self.auth_failures = RateLimiter(config.limits.auth_failures_per_minute, config.limits.auth_failure_burst)
        self.fetch_allow = AllowList(config.url_fetch_allow)
        self.jobs = Jobs(
            config.data_dir, self.store, commit_every=config.limits.commit_every,
            max_workers=config.limits.max_workers,
            chunk_opts={"size": config.chunk_size, "overlap": config.chunk_overlap},
            fetch=self.fetch if config.allow_url_fetch else None,
            max_document_bytes=config.limits.max_document_bytes,
            on_commit=lambda col, n: self.metrics.inc("ponder_documents_committed_total", n),
        )
        self.max_budget = Budget.parse(config.limits.max_budget)
        self.ask_limiter = None  # an anyio.CapacityLimiter, made in the app's event loop

    def fetch(self, url: str) -> tuple[str, bytes]:
        """Fetch a document URL (only called when ``allow_url_fetch`` is on): ``(name, body)``."""
        _, data, ctype = fetch_url(url, max_bytes=self.config.limits.max_document_bytes,
                                   timeout=self.config.url_fetch_timeout, allow=self.fetch_allow)
        return document_name(url, ctype), data

    def budget_for(self, requested: Budget | None) -> Budget | None:
        """The request's budget, never above the server's ``limits.max_budget``."""
        if requested is None:
            return self.max_budget
        if self.max_budget is None:
            return requested
        cap, want = self.max_budget.limits(), requested.limits()
        merged = {k: min(v, cap[k]) if k in cap else v for k, v in want.items()}
        merged.update({k: v for k, v in cap.items() if k not in merged})
        return Budget(**merged)

    def principal_for(self, key: str | None) -> Principal | None:
        """The principal of a valid key, else ``None`` (may raise ``KeysUnavailable``)."""
        rec = self.keys.verify(key)
        return Principal(rec.id, rec.name, rec.collections) if rec else None

    def close(self) -> None:
        self.jobs.close()
        self.models.close()


def service_of(request: Request) -> Service:
    """The app's :class:`Service`."""
    return request.app.state.service


def parse_budget(value) -> Budget | None:
    """A request's ``budget`` (an object or the ``"calls=8,tokens=4000"`` form), or a 422."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return Budget.parse(value)
        except PonderError as e:
            raise ApiError(422, "invalid_body", f"budget: {e.message}", param="budget", hint=e.hint) from e
    return Budget(**{k: v for k, v in value.model_dump().items() if v is not None})
