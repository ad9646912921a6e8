"""An evaluation cache keyed by graph and item: a graph is never run twice on one question.

Stored as JSONL (one line per (graph key, item id) with the correctness and usage), appended and
flushed per entry so a killed optimisation keeps everything it paid for.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from ponder.files import JsonlWriter, iter_jsonl


def graph_hash(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


class EvalCache:
    """``get(graph_key, item_id)`` / ``put(graph_key, item_id, record)``; in memory, and in a
    JSONL file when ``path`` is given (loaded on start)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._data: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()
        self._writer = JsonlWriter(self.path) if self.path else None
        self.hits = 0
        self.misses = 0
        if self.path and self.path.exists():
            for row in iter_jsonl(self.path):
                if {"graph", "item", "record"} <= row.keys():
                    self._data[(row["graph"], str(row["item"]))] = row["record"]

    def __len__(self) -> int:
        return len(self._data)

    def get(self, graph_key: str, item_id: str) -> dict | None:
        with self._lock:
            found = self._data.get((graph_hash(graph_key), str(item_id)))
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, graph_key: str, item_id: str, record: dict) -> None:
        key = (graph_hash(graph_key), str(item_id))
        with self._lock:
            self._data[key] = record
            if self._writer:
                self._writer.write({"graph": key[0], "item": key[1], "record": record})
