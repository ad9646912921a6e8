"""Joining concurrent model calls into one batch.

A local model decodes a batch of rows for about the price of one row when per-step overhead
dominates (SmolLM2-135M on one CPU thread: 14 tok/s for one row, 79 tok/s for eight). Callers in
several threads (an eval runner's workers, a server's requests) each ask for one conversation;
:class:`CallBatcher` lets one of them run everything that is waiting and compatible as a single
call, while the others wait for their share.

There is no background thread: the caller that finds the model free runs the next batch (always
including its own request), then hands over to a waiting caller. A caller alone on the model
runs at once; one that saw other callers recently waits ``window_s`` first so they can join.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class _Request:
    key: Hashable
    batch: list
    limits: Any
    result: list | None = None
    error: BaseException | None = None
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

    def submit(self, key: Hashable, batch: Sequence[Any], limits: Any) -> list:
        """Run ``batch`` (conversations) with the settings ``key`` that all of a batch share and
        ``limits`` that may differ between its conversations (e.g. max tokens, stop strings)."""
        request = _Request(key, list(batch), limits)
        with self._cond:
            now = time.monotonic()
            self._seen[request.thread] = now
            others = any(t != request.thread and now - s < self.recent_s for t, s in self._seen.items())
            self._pending.append(request)
        if others and self.window_s > 0:
            time.sleep(self.window_s)
        while True:
            with self._cond:
                while not request.done and self._busy:
                    self._cond.wait()
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
        return request.result  # type: ignore[return-value]

    def _take(self, first: _Request) -> list[_Request]:
        """``first`` and the waiting requests with its key, up to ``max_rows`` conversations."""
        group, rows = [first], len(first.batch)
        for r in self._pending:
            if r is not first and r.key == first.key and rows + len(r.batch) <= self.max_rows:
                group.append(r)
                rows += len(r.batch)
        for r in group:
            self._pending.remove(r)
        return group

    def _execute(self, group: list[_Request]) -> None:
        conversations = [c for r in group for c in r.batch]
        limits = [r.limits for r in group for _ in r.batch]
        try:
            out = self._run(group[0].key, conversations, limits)
            i = 0
            for r in group:
                r.result = out[i:i + len(r.batch)]
                i += len(r.batch)
        except BaseException as e:  # every caller in the batch sees the failure
            for r in group:
                r.error = e
        self.batches += 1
        self.rows += len(conversations)
        with self._cond:
            for r in group:
                r.done = True
