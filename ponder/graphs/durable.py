"""Durable execution of a LangGraph graph: with a checkpoint path, LangGraph's SQLite
checkpointer writes every step synchronously, so a killed run resumes at the node it was in.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from langgraph.graph import StateGraph

__all__ = ["forget_thread", "run_durable"]



def run_durable(
    graph: StateGraph,
    *,
    checkpoint: str | Path | None,
    thread_id: str,
    on_resume: Callable[[dict], None] | None = None,
    recursion_limit: int = 100_000,
    state_types: Iterable[type] = (),
) -> dict:
    """Run ``graph`` to the end and return its final state. With ``checkpoint`` (a SQLite
    file), every step is written synchronously and a run with the same ``thread_id`` continues
    from the last step written (``on_resume`` first receives the saved state). ``state_types``:
    the classes (beyond plain data) that the state holds; only they are read back from a
    checkpoint."""
    config: dict = {"recursion_limit": recursion_limit, "configurable": {"thread_id": thread_id}}
    if checkpoint is None:
        return graph.compile().invoke({}, config)
    from langgraph.checkpoint.sqlite import SqliteSaver

    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(checkpoint), check_same_thread=False, timeout=60)
    # WAL with synchronous=NORMAL: every step is committed before the next node runs, so a killed
    # process loses nothing; only an OS crash could lose the last step (which is then redone).
    _wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        app = graph.compile(checkpointer=SqliteSaver(conn, serde=_serde(state_types)))
        saved = app.get_state(config)
        if saved.values and on_resume is not None:
            on_resume(dict(saved.values))
        if saved.values and not saved.next:
            return dict(saved.values)
        return app.invoke(None if saved.next else {}, config, durability="sync")
    finally:
        conn.close()


def _serde(state_types: Iterable[type]):
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    # An explicit allow-list: a checkpoint file never makes this process build other classes.
    return JsonPlusSerializer(allowed_msgpack_modules=[(t.__module__, t.__qualname__) for t in state_types])


def _wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch ``conn``'s file to WAL. On a new file shared by several workers the switch needs an
    exclusive lock that SQLite's busy timeout does not wait for ("database is locked" at once),
    so it is retried with a growing pause."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def forget_thread(checkpoint: str | Path, thread_id: str) -> None:
    """Delete a finished run's checkpoints (keeps the file small)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(checkpoint), check_same_thread=False, timeout=60)
    try:
        SqliteSaver(conn).delete_thread(thread_id)
    finally:
        conn.close()
