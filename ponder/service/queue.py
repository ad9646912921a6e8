"""One request queue per loaded model, batching concurrent requests into ``generate_batch``.

Every HTTP request that needs a model goes through :class:`QueuedChatModel`, a ChatModel whose
calls are put on the model's :class:`ModelQueue`. One worker thread per model takes the first
waiting request, waits up to ``batch_wait_ms`` for more (up to ``max_batch`` conversations),
groups those with the same sampling settings and runs each group as one ``generate_batch`` call.
So a model is loaded once, called from one thread (backends need not be thread-safe), and many
concurrent requests share forward passes on backends that batch (transformers).

Usage is charged per request in the caller's thread (by :meth:`ChatModel.generate_batch` on the
proxy), so each request's budget is checked before its call is queued.
"""

from __future__ import annotations

import importlib
import logging
import queue
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from ponder.errors import ConfigError, ModelNotFound, ModelTimeout
from ponder.models.base import ChatModel, Completion, Messages

log = logging.getLogger(__name__)


@dataclass
class _Request:
    batch: list[Messages]
    key: tuple
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.perf_counter)


class ModelQueue:
    """The queue and worker thread in front of one model."""

    def __init__(self, name: str, model: ChatModel, *, max_batch: int = 8, batch_wait_ms: float = 5.0,
                 metrics=None):
        self.name = name
        self.model = model
        self.max_batch = max_batch
        self.wait_s = batch_wait_ms / 1000.0
        self.metrics = metrics
        self._q: queue.Queue[_Request | None] = queue.Queue()
        self._pending = 0  # conversations waiting or running
        self._lock = threading.Lock()
        self.batches = 0
        self._thread = threading.Thread(target=self._worker, daemon=True, name=f"model-{name}")
        self._thread.start()

    @property
    def depth(self) -> int:
        """Conversations queued or being generated."""
        return self._pending

    def submit(self, batch: list[Messages], **params) -> Future:
        key = (params["n"], params["temperature"], params["max_tokens"], tuple(params["stop"] or ()),
               params["logprobs"], params["seed"])
        req = _Request(list(batch), key)
        with self._lock:
            self._pending += len(batch)
        self._gauge()
        self._q.put(req)
        return req.future

    def close(self) -> None:
        self._q.put(None)

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.set_gauge("ponder_queue_depth", self._pending, model=self.name)

    def _collect(self, first: _Request) -> list[_Request]:
        reqs, size = [first], len(first.batch)
        deadline = time.perf_counter() + self.wait_s
        while size < self.max_batch:
            left = deadline - time.perf_counter()
            try:
                nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                self._q.put(None)
                break
            reqs.append(nxt)
            size += len(nxt.batch)
        return reqs

    def _worker(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            reqs = self._collect(first)
            groups: dict[tuple, list[_Request]] = {}
            for r in reqs:
                groups.setdefault(r.key, []).append(r)
            for key, group in groups.items():
                self._run(key, group)

    def _run(self, key: tuple, group: list[_Request]) -> None:
        n, temperature, max_tokens, stop, logprobs, seed = key
        merged = [m for r in group for m in r.batch]
        start = time.perf_counter()
        try:
            out = self.model.generate_batch(merged, n=n, temperature=temperature, max_tokens=max_tokens,
                                            stop=list(stop) or None, logprobs=logprobs, seed=seed, usage=None)
        except BaseException as e:  # noqa: BLE001 - every waiter gets the error
            for r in group:
                r.future.set_exception(e)
            out = None
        elapsed = time.perf_counter() - start
        self.batches += 1
        with self._lock:
            self._pending -= len(merged)
        self._gauge()
        if self.metrics is not None:
            self.metrics.observe("ponder_model_batch_size", len(merged), model=self.name)
            self.metrics.observe("ponder_model_call_seconds", elapsed, model=self.name)
        if out is None:
            return
        if self.metrics is not None:
            self.metrics.inc("ponder_tokens_total", sum(c.prompt_tokens for row in out for c in row),
                             model=self.name, kind="prompt")
            self.metrics.inc("ponder_tokens_total", sum(c.completion_tokens for row in out for c in row),
                             model=self.name, kind="completion")
        i = 0
        for r in group:
            r.future.set_result(out[i:i + len(r.batch)])
            i += len(r.batch)


class QueuedChatModel(ChatModel):
    """A ChatModel whose calls go through a :class:`ModelQueue` (the budget is checked and the
    usage charged by :meth:`ChatModel.generate_batch`, in the caller's thread)."""

    def __init__(self, q: ModelQueue, *, timeout: float = 600.0, max_tokens: int | None = None):
        self.queue = q
        self.info = q.model.info
        self.timeout = timeout
        self.max_tokens_cap = max_tokens

    def count_tokens(self, messages: Messages) -> int:
        return self.queue.model.count_tokens(messages)

    def generate_batch(self, batch: Sequence[Messages], *, max_tokens: int = 256, **kw) -> list[list[Completion]]:
        if self.max_tokens_cap is not None:
            max_tokens = min(max_tokens, self.max_tokens_cap)
        return super().generate_batch(batch, max_tokens=max_tokens, **kw)

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        fut = self.queue.submit(batch, n=n, temperature=temperature, max_tokens=max_tokens, stop=stop,
                                logprobs=logprobs, seed=seed)
        try:
            return fut.result(timeout=self.timeout)
        except FutureTimeout as e:
            raise ModelTimeout(f"model {self.queue.name!r} did not answer within {self.timeout:g} s") from e


def _scripted(name: str, cfg) -> ChatModel:
    from ponder.models.scripted import ScriptedChatModel

    def template(pattern: str, reply: str):
        rx = re.compile(pattern, re.S)

        def fn(messages):
            m = rx.search("\n".join(x["content"] for x in messages))
            return m.expand(reply) if m else reply

        return fn

    rules = [(p, template(p, r)) for p, r in cfg.rules]
    return ScriptedChatModel(rules, default=cfg.default, latency=cfg.latency, name=name, **cfg.options)


def build_model(name: str, cfg) -> ChatModel:
    """Construct the model a :class:`~ponder.service.config.ModelConfig` describes."""
    if cfg.kind == "scripted":
        return _scripted(name, cfg)
    if cfg.kind == "factory":
        if not cfg.factory or ":" not in cfg.factory:
            raise ConfigError(f"models.{name}: kind 'factory' needs factory = 'module:callable'")
        module, _, attr = cfg.factory.partition(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"models.{name}: cannot import factory {cfg.factory!r}: {e}") from e
        return fn(**cfg.options)
    from ponder.models.registry import load_model

    return load_model(cfg.name or name, **cfg.options)


class ModelPool:
    """Models by served name, each loaded once (on first use) with its queue."""

    def __init__(self, config, metrics=None):
        self.config = config
        self.metrics = metrics
        self._lock = threading.Lock()
        self.queues: dict[str, ModelQueue] = {}
        self._loading: dict[str, threading.Lock] = {}

    def names(self) -> list[str]:
        return self.config.model_names()

    def get(self, name: str) -> QueuedChatModel:
        from ponder.service.config import ModelConfig

        if name not in self.names():
            raise ModelNotFound(f"model {name!r} is not served here", hint=f"served: {', '.join(self.names())}")
        with self._lock:
            q = self.queues.get(name)
            lock = self._loading.setdefault(name, threading.Lock())
        if q is None:
            with lock:  # one load per model, even when many requests arrive at once
                q = self.queues.get(name)
                if q is None:
                    cfg = self.config.models.get(name) or ModelConfig()
                    model = build_model(name, cfg)
                    q = ModelQueue(name, model, max_batch=cfg.max_batch, batch_wait_ms=cfg.batch_wait_ms,
                                   metrics=self.metrics)
                    with self._lock:
                        self.queues[name] = q
        return QueuedChatModel(q, max_tokens=self.config.limits.max_tokens)

    def close(self) -> None:
        for q in self.queues.values():
            q.close()
