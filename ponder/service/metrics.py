"""The service's Prometheus metrics, kept by ``prometheus-client`` in a registry of their own
(one per app, so apps in one process never share counts).

Names (as scraped):

- ``ponder_requests_total{method,route,status}`` and ``ponder_request_seconds{route}`` (histogram)
- ``ponder_tokens_total{model,kind}`` (kind = prompt | completion)
- ``ponder_queue_depth{model}`` (conversations waiting or running), ``ponder_model_batch_size{model}``,
  ``ponder_model_call_seconds{model}``
- ``ponder_documents_committed_total``, ``ponder_ingest_jobs_active``, ``ponder_collections``,
  ``ponder_rate_limited_total``, ``ponder_auth_failures_total``

No label holds a collection name: ``/metrics`` may be public, and collection names are only
shown to keys that may use them. Routes are labelled by their template (``/v1/collections/{name}``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: the ``Content-Type`` of :meth:`Metrics.render`'s page
CONTENT_TYPE = CONTENT_TYPE_LATEST

_SPECS: dict[str, tuple[type, str, tuple[str, ...], tuple[float, ...] | None]] = {
    "ponder_requests_total": (Counter, "HTTP requests by method, route template and status code.",
                              ("method", "route", "status"), None),
    "ponder_request_seconds": (Histogram, "HTTP request latency in seconds (to the last byte).", ("route",),
                               (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)),
    "ponder_tokens_total": (Counter, "Model tokens processed, by model and kind (prompt, completion).",
                            ("model", "kind"), None),
    "ponder_queue_depth": (Gauge, "Conversations queued or being generated, per model.", ("model",), None),
    "ponder_model_batch_size": (Histogram, "Conversations per generate_batch call.", ("model",),
                                (1, 2, 4, 8, 16, 32, 64)),
    "ponder_model_call_seconds": (Histogram, "Seconds per generate_batch call.", ("model",),
                                  (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)),
    "ponder_documents_committed_total": (Counter, "Documents committed by ingest jobs.", (), None),
    "ponder_ingest_jobs_active": (Gauge, "Ingest jobs queued or running.", (), None),
    "ponder_collections": (Gauge, "Collections loaded.", (), None),
    "ponder_rate_limited_total": (Counter, "Requests refused with 429.", (), None),
    "ponder_auth_failures_total": (Counter, "Requests refused with 401 (missing, wrong or revoked key).", (), None),
}


class Metrics:
    """The registry behind ``/metrics``, with the small interface the service's parts use
    (``inc``, ``set_gauge``, ``observe``: a metric by name and its labels)."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self._metrics = {}
        for name, (kind, text, labels, buckets) in _SPECS.items():
            kw = {"buckets": buckets} if buckets else {}
            self._metrics[name] = kind(name, text, labels, registry=self.registry, **kw)

    def _series(self, name: str, labels: dict):
        metric = self._metrics[name]
        return metric.labels(**{k: str(v) for k, v in labels.items()}) if labels else metric

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        self._series(name, labels).inc(amount)

    def set_gauge(self, name: str, value: float, **labels) -> None:
        self._series(name, labels).set(value)

    def observe(self, name: str, value: float, **labels) -> None:
        self._series(name, labels).observe(value)

    def value(self, name: str, **labels) -> float:
        """A counter's or gauge's current value (0 for a series never touched)."""
        got = self.registry.get_sample_value(name, {k: str(v) for k, v in labels.items()})
        return got or 0.0

    def render(self) -> str:
        """The Prometheus text page."""
        return generate_latest(self.registry).decode()
