"""The one runner for every task kind: parallel workers, a progress bar, and a resumable JSONL
results file (rows already there are skipped, so an interrupted run continues where it stopped).

Two ways in:

- :func:`run_items` runs ``work(item, worker_index)`` on local threads (the original API, now a
  :class:`Job` whose worker state is its index).
- :func:`run_job` runs a :class:`Job` (a picklable *worker factory* plus a *unit function*) on a
  backend: :class:`LocalRunner` (threads, the default) or
  :class:`ponder.evals.ray_runner.RayRunner` (Ray actors on one machine or a cluster). Either
  way this process, the driver, is the only writer of the results file: rows are written as units
  finish, so the file stays resumable exactly the same way.

Each row is a JSON object with at least ``id`` (unique per item) and, by convention for
``ponder report``: ``kind`` (web, miniwob, qa, graph), ``strategy``, ``model``, ``success``
(bool), ``score`` (float), ``metrics`` (dict of numbers), ``usage`` (``Usage.to_dict()``),
``seconds`` and optionally ``trace`` (a path) and ``error`` (an environment or harness failure,
distinct from a task failure).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from rich.console import Console
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
    slots = iter(range(workers))
    lock = threading.Lock()

    def take_slot() -> int:  # each worker thread takes its index once, when it starts
        with lock:
            return next(slots)

    job: Job[T] = Job(take_slot, lambda slot, item: work(item, slot), name=description)
    return run_job(job, items, out=out, key=key, workers=workers, description=description, show_progress=show_progress)


def _bounded_pool(todo: Iterable[T], call: Callable[[T], Any], workers: int,
                  after: Callable[[], None] | None = None) -> None:
    """Run ``call`` on every item with at most ``workers`` running at once (so items are taken in
    order as workers free up); the first exception propagates, rows already written stay."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[Any]] = set()
        upcoming = iter(todo)
        for item in upcoming:
            pending.add(pool.submit(call, item))
            if len(pending) >= workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                f.result()  # a harness bug surfaces here; rows already written stay
                if after is not None:
                    after()
                nxt = next(upcoming, None)
                if nxt is not None:
                    pending.add(pool.submit(call, nxt))


def _progress(show: bool) -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    return Progress(*columns, disable=not show, transient=False)


def _stamp(row: dict, unit_id: str) -> dict:
    row.setdefault("id", unit_id)
    # when it finished (UTC): throughput over a run = rows / (last - first finish)
    row.setdefault("finished", datetime.now(UTC).isoformat(timespec="seconds"))
    return row


# ---- jobs and backends ----------------------------------------------------------------------


def _no_close(state: Any) -> None:
    return None


def default_error_row(unit: Any, reason: str) -> dict:
    """The row of a unit that failed on every attempt: a harness error, not a task failure."""
    return {"success": False, "score": 0.0, "usage": {}, "error": reason}


@dataclass
class Job(Generic[T]):
    """One kind of work, described so that any backend can run it.

    Every field a worker uses must be picklable (module-level functions, classes,
    ``functools.partial`` of them, dataclasses): Ray ships the job to each worker process.

    Attributes:
        make_state: ``() -> state``, called once per worker, in the thread (local) or process
            (Ray) that then runs that worker's units: what the worker keeps across units, such as
            a loaded model, a browser with its site server, or an index.
        run_unit: ``(state, unit) -> row``. A :class:`~ponder.errors.PonderError` it raises stops
            the run (a configuration problem would fail every unit); another exception fails
            the attempt.
        close_state: ``(state) -> None``, called when the worker stops.
        error_row: ``(unit, reason) -> row`` for a unit that failed on every attempt (Ray).
        finish: ``(row) -> row``, run in the driver before the row is written (e.g. to write a
            trace the worker sent back, since a worker may sit on another machine).
        num_cpus, num_gpus: what each Ray worker asks the cluster for.
        name: names the job in messages.
    """

    make_state: Callable[[], Any]
    run_unit: Callable[[Any, T], dict]
    close_state: Callable[[Any], None] = _no_close
    error_row: Callable[[T, str], dict] = default_error_row
    finish: Callable[[dict], dict] | None = None
    num_cpus: float = 1
    num_gpus: float = 0
    name: str = "job"


@dataclass
class RunStats:
    """What a backend did: rows, retries and worker failures (the summary at the end of a run)."""

    backend: str = "local"
    units: int = 0
    rows: int = 0
    error_rows: int = 0
    retries: int = 0
    worker_deaths: int = 0
    timeouts: int = 0
    workers_started: int = 0
    failures: list[str] = field(default_factory=list)  # one line per failed attempt
    first_dispatch: float | None = None
    last_row: float | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("first_dispatch", "last_row")}

    def summary(self) -> str:
        line = (f"{self.backend}: {self.rows}/{self.units} rows, {self.workers_started} workers started, "
                f"{self.worker_deaths} worker deaths, {self.timeouts} timeouts, {self.retries} retries, "
                f"{self.error_rows} error rows")
        return "\n".join([line, *(f"  {f}" for f in self.failures[:10])]
                         + ([f"  ... and {len(self.failures) - 10} more"] if len(self.failures) > 10 else []))


class Runner(Protocol):
    """A backend: runs ``job`` on ``units`` and hands each finished row to ``on_row`` (in the
    driver, one row per unit, exactly once)."""

    name: str

    def map(self, job: Job, units: Sequence[Any], *, key: Callable[[Any], str],
            on_row: Callable[[Any, dict], None]) -> RunStats: ...

    def close(self) -> None: ...


class StateWorker:
    """A thread that owns one worker state: units run in it one at a time, so the state (a
    Playwright browser binds its objects to the thread that made it) is made, used and closed
    by the same thread. The state is made lazily, by the first unit."""

    def __init__(self, make_state: Callable[[], Any], close_state: Callable[[Any], None] = _no_close,
                 name: str = "state-worker"):
        self.make_state = make_state
        self.close_state = close_state
        self.state: Any = None
        self._made = False
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, fut = job
            try:
                if not self._made:
                    self.state = self.make_state()
                    self._made = True
                fut.set_result(fn(self.state))
            except BaseException as e:  # delivered to the caller
                fut.set_exception(e)
        if self._made:
            try:
                self.close_state(self.state)
            except Exception:
                pass

    def call(self, fn: Callable[[Any], Any]) -> Any:
        fut: Future = Future()
        self._jobs.put((fn, fut))
        return fut.result()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=60)


class LocalRunner:
    """The default backend: ``workers`` threads in this process, each owning one worker state.

    A unit's exception propagates (as with :func:`run_items`); there is no per-unit timeout,
    since a thread cannot be killed (use :class:`~ponder.evals.ray_runner.RayRunner`, e.g.
    ``--ray local``, for that).
    """

    name = "local"

    def __init__(self, workers: int = 1):
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.last_stats: RunStats | None = None

    def map(self, job: Job, units: Sequence[Any], *, key: Callable[[Any], str],
            on_row: Callable[[Any, dict], None]) -> RunStats:
        stats = RunStats(backend="local", units=len(units))
        pool = [StateWorker(job.make_state, job.close_state, name=f"{job.name}-worker-{i}") for i in range(self.workers)]
        free = list(range(self.workers))
        lock = threading.Lock()
        stats.workers_started = min(self.workers, len(units))

        def call(unit: Any) -> None:
            with lock:
                slot = free.pop()
                if stats.first_dispatch is None:
                    stats.first_dispatch = time.perf_counter()
            try:
                row = pool[slot].call(lambda state: job.run_unit(state, unit))
            finally:
                with lock:
                    free.append(slot)
            if job.finish is not None:
                row = job.finish(row)
            on_row(unit, row)
            with lock:
                stats.rows += 1
                stats.last_row = time.perf_counter()

        try:
            _bounded_pool(units, call, self.workers)
        finally:
            for w in pool:
                w.close()
        self.last_stats = stats
        return stats

    def close(self) -> None:
        """Nothing outlives :meth:`map` here (threads end with it)."""


def load_worker_model(model: Any) -> Any:
    """A ready model from a ChatModel, a registry name (``None``: the default) or a zero-argument
    factory: what a job's worker factory calls (a loaded model does not travel between
    processes, so Ray workers get a name or a factory and load their own)."""
    from ponder.models.base import ChatModel
    from ponder.models.registry import load_model

    if isinstance(model, ChatModel):
        return model
    if model is None or isinstance(model, str):
        return load_model(model)
    return model()


def worker_model_name(model: Any) -> str:
    """The name rows carry for ``model`` (any form :func:`load_worker_model` takes), without
    loading it when it is a registry name."""
    from ponder.models.registry import resolve

    if model is None or isinstance(model, str):
        return resolve(model).name
    return model.name if hasattr(model, "name") else load_worker_model(model).name


def run_job(
    job: Job[T],
    units: Iterable[T],
    *,
    out: str | Path,
    key: Callable[[T], str],
    runner: Runner | None = None,
    workers: int = 1,
    description: str = "running",
    show_progress: bool = True,
) -> list[dict]:
    """Run ``job`` on every unit whose ``key`` is not yet in ``out``, on ``runner`` (default:
    :class:`LocalRunner` with ``workers`` threads). This process writes every row, as units
    finish, one row per unit; returns all rows in the file (old and new). The backend's
    :class:`RunStats` is left on ``runner.last_stats``; failures and retries are summarised at
    the end when there were any (or always, on Ray, when ``show_progress``)."""
    runner = runner or LocalRunner(workers)
    writer = RowWriter(out)
    seen = done_ids(out)
    todo = [u for u in units if key(u) not in seen]
    written: set[str] = set()
    lock = threading.Lock()

    with _progress(show_progress) as progress:
        bar = progress.add_task(f"{description} ({len(seen)} already done)", total=len(todo))

        def on_row(unit: T, row: dict) -> None:
            uid = key(unit)
            with lock:
                if uid in written:  # a backend bug must not write a unit twice
                    return
                written.add(uid)
                writer.write(_stamp(row, uid))
            progress.advance(bar)

        stats = runner.map(job, todo, key=key, on_row=on_row)
    if show_progress and (runner.name != "local" or stats.failures):
        Console(stderr=True, soft_wrap=True).print(stats.summary(), markup=False, highlight=False)
    return read_rows(out)
