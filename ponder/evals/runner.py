"""The one runner for every task kind: parallel workers, a progress bar, and a resumable JSONL
results file (rows already there are skipped, so an interrupted run continues where it stopped).

Each row is a JSON object with at least ``id`` (unique per item) and, by convention for
``ponder report``: ``kind`` (web, miniwob, qa, graph), ``strategy``, ``model``, ``success``
(bool), ``score`` (float), ``metrics`` (dict of numbers), ``usage`` (``Usage.to_dict()``),
``seconds`` and optionally ``trace`` (a path) and ``error`` (an environment or harness failure,
distinct from a task failure).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ponder.errors import ConfigError
from ponder.files import JsonlWriter, read_jsonl

T = TypeVar("T")


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a results file; a broken line (a killed writer, a hand edit) is named in a
    warning and skipped, and the rows around it are kept."""
    return read_jsonl(path)


def done_ids(path: str | Path) -> set[str]:
    return {str(r["id"]) for r in read_rows(path) if "id" in r}


RowWriter = JsonlWriter


def run_items(
    items: Iterable[T],
    work: Callable[[T, int], dict],
    *,
    out: str | Path,
    key: Callable[[T], str],
    workers: int = 1,
    description: str = "running",
    show_progress: bool = True,
) -> list[dict]:
    """Run ``work(item, worker_index)`` for every item whose ``key`` is not yet in ``out``.

    ``worker_index`` (0..workers-1) lets each worker own its resources (an environment
    instance, a browser). Returns all rows in the file (old and new). Each returned row gets
    ``id = key(item)`` when it has none.
    """
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    writer = RowWriter(out)
    seen = done_ids(out)
    todo = [it for it in items if key(it) not in seen]
    free = list(range(workers))
    free_lock = threading.Lock()

    def call(item: T) -> dict:
        with free_lock:
            slot = free.pop()
        try:
            row = work(item, slot)
        finally:
            with free_lock:
                free.append(slot)
        row.setdefault("id", key(item))
        # when it finished (UTC): throughput over a run = rows / (last - first finish)
        row.setdefault("finished", datetime.now(UTC).isoformat(timespec="seconds"))
        writer.write(row)
        return row

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        bar = progress.add_task(f"{description} ({len(seen)} already done)", total=len(todo))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: set[Future[Any]] = set()
            queue = iter(todo)
            for item in queue:
                pending.add(pool.submit(call, item))
                if len(pending) >= workers:
                    break
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    f.result()  # a harness bug surfaces here; rows already written stay
                    progress.advance(bar)
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(pool.submit(call, nxt))
    return read_rows(out)
