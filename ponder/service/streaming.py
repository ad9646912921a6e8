"""Streaming answers: blocking work in a thread whose progress events reach the event loop, the
server-sent-events framing, and answer text cut into pieces.

Used by ``/v1/ask`` (events ``progress``, ``token``, ``done``, ``error``) and the
OpenAI-compatible chat route (``chat.completion.chunk`` data lines).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

#: headers for every event stream (no caching, no proxy buffering)
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event: ``event:`` (when given) and one ``data:`` line of JSON (or a str as is)."""
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


async def run_with_events(fn: Callable[[Callable[[dict], None]], Any], limiter=None) -> AsyncIterator[dict]:
    """Run blocking ``fn(emit)`` in a thread; yield what it emits, then ``{"type": "result",
    "value"}`` or ``{"type": "exception", "error"}``."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue = asyncio.Queue()

    def emit(ev: dict) -> None:
        loop.call_soon_threadsafe(q.put_nowait, ev)

    task = asyncio.ensure_future(anyio.to_thread.run_sync(fn, emit, limiter=limiter))
    while True:
        getter = asyncio.ensure_future(q.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            yield getter.result()
            continue
        getter.cancel()
        while not q.empty():
            yield q.get_nowait()
        exc = task.exception()
        yield {"type": "exception", "error": exc} if exc else {"type": "result", "value": task.result()}
        return


def word_pieces(text: str) -> list[str]:
    """Split an answer into streamable pieces that join back to the exact text."""
    pieces, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            pieces.append(cur)
            cur = ""
    if cur:
        pieces.append(cur)
    return pieces


class EmittingModel:
    """Wraps a model so each call reports a progress event (used when streaming)."""

    def __init__(self, model, emit: Callable[[dict], None]):
        self._model, self._emit = model, emit

    def __getattr__(self, name):
        return getattr(self._model, name)

    def generate(self, messages, **kw):
        return self.generate_batch([messages], **kw)[0]

    def generate_batch(self, batch, **kw):
        self._emit({"type": "generation", "model": self._model.name, "conversations": len(batch)})
        out = self._model.generate_batch(batch, **kw)
        self._emit({"type": "generated", "model": self._model.name,
                    "text": out[0][0].text[:500] if out and out[0] else ""})
        return out
