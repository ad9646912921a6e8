"""Joining concurrent model calls into one batch: the one batcher ponder has.

A local model decodes a batch of rows for about the price of one row when per-step overhead
dominates (SmolLM2-135M on one CPU thread: 14 tok/s for one row, 79 tok/s for eight). Callers in
several threads (an eval runner's workers, a graph's parallel branches, a server's requests) each
ask for one conversation; :class:`CallBatcher` lets one of them run everything that is waiting and
compatible as a single call, while the others wait for their share. The transformers backend,
compiled graphs (:mod:`ponder.graphs.compile`) and the service's model queues
(:mod:`ponder.service.queue`) all use it.

There is no background thread: the caller that finds the model free runs the next batch (always
including its own request), then hands over to a waiting caller, so one batch runs at a time. A
caller alone on the model runs at once; one that saw other callers recently waits ``window_s``
first so they can join, and one told to expect company (``expected``) waits until that many
compatible requests are queued or the window ends.

A seeded sampling call never joins a batch (:func:`runs_alone`): rows of one batch share the
backend's random stream, so its samples would depend on who else happened to be waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any


def runs_alone(temperature: float, seed: int | None) -> bool:
    """Whether a call must run in a batch of its own: seeded sampling, whose random stream must
    be its own so that its samples are the same whatever else is queued."""
    return temperature > 0 and seed is not None


def batch_key(*, n: int, temperature: float, logprobs: bool | int, seed: int | None, **settings: Hashable) -> tuple:
    """The settings every call of one batch must share. The seed counts only when sampling (a
    greedy call's seed changes nothing, so greedy calls with different seeds still batch)."""
    return (n, temperature, logprobs, seed if temperature > 0 else None, *sorted(settings.items()))


@dataclass(eq=False)
class _Request:
    key: Hashable
    batch: list
    limits: Any
    alone: bool = False
    result: list | None = None
    error: BaseException | None = None
    seconds: float = 0.0  # this request's share of its batch's wall time
    done: bool = False
    thread: int = field(default_factory=threading.get_ident)


class CallBatcher:
    """Run ``run(key, conversations, limits_per_conversation)`` over the requests of many threads
    that share a ``key`` (the sampling settings a batch must agree on).

    Args:
        run: does the batched call; returns one result row per conversation, in order.
        window_s: how long a caller that has seen other threads lately waits for them to join.
        max_rows: the most conversations in one batch.
        recent_s: how long another thread counts as active after its last call.
    """

    def __init__(self, run: Callable[[Hashable, list, list[int]], list], *, window_s: float = 0.005,
                 max_rows: int = 32, recent_s: float = 2.0):
        self._run = run
        self.window_s = window_s
        self.max_rows = max_rows
        self.recent_s = recent_s
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._busy = False
        self._seen: dict[int, float] = {}
        #: how many batches ran and how many conversations they held (for tests and benches)
        self.batches = 0
        self.rows = 0
        self.sizes: list[int] = []  # conversations per batch, in order

    def submit(self, key: Hashable, batch: Sequence[Any], limits: Any, *, alone: bool = False,
               expected: int | None = None, timeout: float | None = None) -> list:
        """Run ``batch`` (conversations) with the settings ``key`` that all of a batch share and
        ``limits`` that may differ between its conversations (e.g. max tokens, stop strings).

        Args:
            alone: run in a batch of its own (see :func:`runs_alone`), still one batch at a time.
            expected: how many requests with this key are about to arrive (parallel graph
                branches): wait until that many are queued, up to ``window_s`` (1: run at once).
                ``None``: guess from history (wait the window if other threads called lately).
            timeout: seconds to wait for the result; then :class:`TimeoutError` (a request still
                queued is withdrawn; one already running finishes unseen).
        """
        return self.submit_timed(key, batch, limits, alone=alone, expected=expected, timeout=timeout)[0]

    def submit_timed(self, key: Hashable, batch: Sequence[Any], limits: Any, *, alone: bool = False,
                     expected: int | None = None, timeout: float | None = None) -> tuple[list, float]:
        """:meth:`submit`, also returning this request's share of its batch's wall time (by rows)."""
        request = _Request(key, list(batch), limits, alone)
        with self._cond:
            now = time.monotonic()
            give_up = None if timeout is None else now + timeout
            self._seen[request.thread] = now
            others = any(t != request.thread and now - s < self.recent_s for t, s in self._seen.items())
            self._pending.append(request)
            self._cond.notify_all()  # callers waiting for company count this request
            company = others if expected is None else expected > 1
            until = now + self.window_s if company and not alone else now
            while not request.done and (left := until - time.monotonic()) > 0:
                if expected is not None and self._waiting(key) >= expected:
                    break
                self._cond.wait(self._bounded(left, give_up, request))
        while True:
            with self._cond:
                while not request.done and self._busy:
                    self._cond.wait(self._bounded(None, give_up, request))
                if request.done:
                    break
                self._busy = True
                group = self._take(request)
            try:
                self._execute(group)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if request.error is not None:
            raise request.error
        return request.result, request.seconds  # type: ignore[return-value]

    def _waiting(self, key: Hashable) -> int:
        return sum(1 for r in self._pending if r.key == key and not r.alone)

    def _bounded(self, left: float | None, give_up: float | None, request: _Request) -> float | None:
        """How long to wait on the condition, raising TimeoutError once ``give_up`` has passed
        (the request leaves the queue if it has not started)."""
        if give_up is None:
            return left
        remaining = give_up - time.monotonic()
        if remaining <= 0:
            if request in self._pending:
                self._pending.remove(request)
            raise TimeoutError("the batched call did not finish in time")
        return remaining if left is None else min(left, remaining)

    def _take(self, first: _Request) -> list[_Request]:
        """``first`` and the waiting requests with its key, up to ``max_rows`` conversations."""
        group, rows = [first], len(first.batch)
        for r in self._pending if not first.alone else ():
            if r is not first and not r.alone and r.key == first.key and rows + len(r.batch) <= self.max_rows:
                group.append(r)
                rows += len(r.batch)
        for r in group:
            self._pending.remove(r)
        return group

    def _execute(self, group: list[_Request]) -> None:
        conversations = [c for r in group for c in r.batch]
        limits = [r.limits for r in group for _ in r.batch]
        start = time.perf_counter()
        try:
            out = self._run(group[0].key, conversations, limits)
            elapsed = time.perf_counter() - start
            i = 0
            for r in group:
                r.result = out[i:i + len(r.batch)]
                r.seconds = elapsed * len(r.batch) / max(1, len(conversations))
                i += len(r.batch)
        except BaseException as e:  # every caller in the batch sees the failure
            for r in group:
                r.error = e
        self.batches += 1
        self.rows += len(conversations)
        self.sizes.append(len(conversations))
        with self._cond:
            for r in group:
                r.done = True
