"""One request queue per loaded model, batching concurrent requests into ``generate_batch``.

Every HTTP request that needs a model goes through :class:`QueuedChatModel`, a ChatModel whose
calls go to the model's :class:`ModelQueue`. The queue is ponder's one batcher
(:class:`~ponder.models.batching.CallBatcher`): requests with the same sampling settings that
wait together (up to ``max_batch`` conversations, ``batch_wait_ms`` to gather) run as one
``generate_batch`` call, and one call runs at a time per model. So a model is loaded once, never
called by two threads at once (backends need not be thread-safe), and many concurrent requests
share forward passes on backends that batch (transformers). A request waits at most the proxy's
``timeout`` (then :class:`~ponder.errors.ModelTimeout`).

Usage is charged per request in the caller's thread (by :meth:`ChatModel.generate_batch` on the
proxy), so each request's budget is checked before its call is queued.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Sequence

from ponder.errors import BackendUnavailable, ConfigError, ModelNotFound, ModelTimeout
from ponder.models.base import ChatModel, Completion, Messages
from ponder.models.batching import CallBatcher, batch_key, runs_alone
from ponder.usage import Usage

log = logging.getLogger(__name__)


class ModelQueue:
    """The queue in front of one model: requests wait in the shared
    :class:`~ponder.models.batching.CallBatcher`, which runs one batch at a time and joins the
    waiting requests that agree on their sampling settings (up to ``max_batch`` conversations,
    waiting up to ``batch_wait_ms`` for company when requests are arriving)."""

    def __init__(self, name: str, model: ChatModel, *, max_batch: int = 8, batch_wait_ms: float = 5.0,
                 metrics=None):
        self.name = name
        self.model = model
        self.max_batch = max_batch
        self.wait_s = batch_wait_ms / 1000.0
        self.metrics = metrics
        self._calls = CallBatcher(self._run, window_s=self.wait_s, max_rows=max_batch)
        self._pending = 0  # conversations waiting or running
        self._lock = threading.Lock()
        self._closed = False

    @property
    def depth(self) -> int:
        """Conversations queued or being generated."""
        return self._pending

    @property
    def batches(self) -> int:
        """Backend calls made so far."""
        return self._calls.batches

    def call(self, batch: list[Messages], *, timeout: float | None = None, **params) -> list[list[Completion]]:
        """Run ``batch`` with ``params`` (``generate_batch``'s sampling settings), batched with
        concurrent compatible requests; :class:`TimeoutError` after ``timeout`` seconds."""
        if self._closed:
            raise BackendUnavailable(f"model {self.name!r} is shut down")
        key = batch_key(n=params["n"], temperature=params["temperature"], logprobs=params["logprobs"],
                        seed=params["seed"], max_tokens=params["max_tokens"], stop=tuple(params["stop"] or ()))
        with self._lock:
            self._pending += len(batch)
        self._gauge()
        try:
            return self._calls.submit(key, list(batch), None, alone=runs_alone(params["temperature"], params["seed"]),
                                      timeout=timeout)
        finally:
            with self._lock:
                self._pending -= len(batch)
            self._gauge()

    def close(self) -> None:
        """Refuse new requests (those already queued still run)."""
        self._closed = True

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.set_gauge("ponder_queue_depth", self._pending, model=self.name)

    def _run(self, key: tuple, merged: list[Messages], _limits: list) -> list[list[Completion]]:
        n, temperature, logprobs, seed, *settings = key
        opts = dict(settings)
        start = time.perf_counter()
        try:
            # usage is charged per request by the caller's QueuedChatModel; this ledger keeps the
            # merged call off whichever ledger is active in the thread that happens to run it
            out = self.model.generate_batch(merged, n=n, temperature=temperature, max_tokens=opts["max_tokens"],
                                            stop=list(opts["stop"]) or None, logprobs=logprobs, seed=seed,
                                            usage=Usage(name="queue"))
        finally:
            if self.metrics is not None:
                self.metrics.observe("ponder_model_batch_size", len(merged), model=self.name)
                self.metrics.observe("ponder_model_call_seconds", time.perf_counter() - start, model=self.name)
        if self.metrics is not None:
            self.metrics.inc("ponder_tokens_total", sum(c.prompt_tokens for row in out for c in row),
                             model=self.name, kind="prompt")
            self.metrics.inc("ponder_tokens_total", sum(c.completion_tokens for row in out for c in row),
                             model=self.name, kind="completion")
        return out


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

    def count_text(self, text: str) -> int:
        return self.queue.model.count_text(text)

    def _score(self, messages, continuations):
        # scoring (the ``span`` method) is not queued with generation batches: the backend
        # serialises its own forward passes
        return self.queue.model._score(messages, continuations)

    def generate_batch(self, batch: Sequence[Messages], *, max_tokens: int = 256, **kw) -> list[list[Completion]]:
        if self.max_tokens_cap is not None:
            max_tokens = min(max_tokens, self.max_tokens_cap)
        return super().generate_batch(batch, max_tokens=max_tokens, **kw)

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        try:
            return self.queue.call(batch, n=n, temperature=temperature, max_tokens=max_tokens, stop=stop,
                                   logprobs=logprobs, seed=seed, timeout=self.timeout)
        except TimeoutError as e:
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
