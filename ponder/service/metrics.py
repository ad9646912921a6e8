"""Prometheus metrics in text exposition format (version 0.0.4), without a client library.

Counters, gauges and histograms keyed by name and labels; :meth:`Metrics.render` writes the
``/metrics`` page. Names:

- ``ponder_requests_total{method,route,status}`` and ``ponder_request_seconds{route}`` (histogram)
- ``ponder_tokens_total{model,kind}`` (kind = prompt | completion)
- ``ponder_queue_depth{model}`` (conversations waiting or running), ``ponder_model_batch_size{model}``,
  ``ponder_model_call_seconds{model}``
- ``ponder_documents_committed_total{collection}``, ``ponder_ingest_jobs_active``,
  ``ponder_collections``, ``ponder_rate_limited_total``
"""

from __future__ import annotations

import bisect
import math
import threading

HELP = {
    "ponder_requests_total": ("counter", "HTTP requests by method, route template and status code."),
    "ponder_request_seconds": ("histogram", "HTTP request latency in seconds (to the last byte)."),
    "ponder_tokens_total": ("counter", "Model tokens processed, by model and kind (prompt, completion)."),
    "ponder_queue_depth": ("gauge", "Conversations queued or being generated, per model."),
    "ponder_model_batch_size": ("histogram", "Conversations per generate_batch call."),
    "ponder_model_call_seconds": ("histogram", "Seconds per generate_batch call."),
    "ponder_documents_committed_total": ("counter", "Documents committed by ingest jobs."),
    "ponder_ingest_jobs_active": ("gauge", "Ingest jobs queued or running."),
    "ponder_collections": ("gauge", "Collections loaded."),
    "ponder_rate_limited_total": ("counter", "Requests refused with 429."),
}

BUCKETS = {
    "ponder_request_seconds": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    "ponder_model_call_seconds": (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    "ponder_model_batch_size": (1, 2, 4, 8, 16, 32, 64),
}


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    def esc(v):
        return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items())) + "}"


def _num(v: float) -> str:
    if v == math.inf:
        return "+Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Metrics:
    """A thread-safe metrics registry."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple], float] = {}
        self._hist: dict[tuple[str, tuple], list] = {}  # -> [bucket counts..., sum, count]

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def set_gauge(self, name: str, value: float, **labels) -> None:
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value

    def observe(self, name: str, value: float, **labels) -> None:
        buckets = BUCKETS[name]
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            h = self._hist.get(key)
            if h is None:
                h = self._hist[key] = [0] * (len(buckets) + 2)
            idx = bisect.bisect_left(buckets, value)  # the first bucket whose bound is >= value
            if idx < len(buckets):
                h[idx] += 1
            h[-2] += value
            h[-1] += 1

    def value(self, name: str, **labels) -> float:
        return self._values.get((name, tuple(sorted(labels.items()))), 0)

    def render(self) -> str:
        """The Prometheus text page."""
        with self._lock:
            values = dict(self._values)
            hists = {k: list(v) for k, v in self._hist.items()}
        lines: list[str] = []
        names = sorted({k[0] for k in values} | {k[0] for k in hists} | set(HELP))
        for name in names:
            kind, text = HELP.get(name, ("untyped", name))
            series = [(k, v) for k, v in values.items() if k[0] == name]
            hseries = [(k, v) for k, v in hists.items() if k[0] == name]
            if not series and not hseries:
                continue
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            for (_, labels), v in sorted(series):
                lines.append(f"{name}{_labels(dict(labels))} {_num(v)}")
            for (_, labels), h in sorted(hseries):
                running = 0
                for bound, count in zip(BUCKETS[name], h, strict=False):
                    running += count
                    lines.append(f"{name}_bucket{_labels({**dict(labels), 'le': _num(bound)})} {running}")
                lines.append(f"{name}_bucket{_labels({**dict(labels), 'le': '+Inf'})} {int(h[-1])}")
                lines.append(f"{name}_sum{_labels(dict(labels))} {_num(h[-2])}")
                lines.append(f"{name}_count{_labels(dict(labels))} {int(h[-1])}")
        return "\n".join(lines) + "\n"
