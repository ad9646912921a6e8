"""The Ray backend of :func:`ponder.evals.runner.run_job`: units run on Ray actors, on this
machine (``local``) or across a cluster (``auto`` or an address), and this process (the driver)
writes every row.

Each worker is an actor that builds its state once (:attr:`Job.make_state`: a model, a browser
with its site server, an index) and runs many units on it. The driver keeps one unit in flight
per worker and, for each unit:

- a worker that dies (a crash, a SIGKILL, a lost node) is replaced and the unit is retried on
  another worker;
- a unit past ``unit_timeout`` is cancelled (Ray sets a flag that :func:`unit_cancelled` reads);
  if it has not stopped ``cancel_grace`` seconds later its worker is killed, with the browser
  processes under it, and replaced, and the unit is retried;
- after ``max_attempts`` failed attempts the unit becomes an error row naming the reasons.

Every unit ends in exactly one row: a late answer from a worker the driver gave up on is dropped.
A :class:`~ponder.errors.PonderError` raised by a unit, or a worker whose state cannot be built
(a model that does not load, a worker that cannot import ponder), stops the run with one error
naming the cause, after the rows of units still running have been written.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.errors import BackendUnavailable, ConfigError, PonderError, missing_extra
from ponder.evals.runner import Job, RunStats


class RayWorkerError(BackendUnavailable):
    """A Ray worker could not be set up (ponder or a module not importable there, a model that
    does not load, no resources for it)."""


def _ray():
    try:
        import ray
    except ImportError as e:
        raise missing_extra("ray", "ray") from e
    return ray


def unit_cancelled() -> bool:
    """True inside a unit that the driver has cancelled (its timeout passed): a long unit may
    poll this to stop early and cleanly; otherwise its worker is killed after a grace period."""
    try:
        import ray

        return bool(ray.is_initialized() and ray.get_runtime_context().is_canceled())
    except Exception:
        return False


# ---- connecting ---------------------------------------------------------------------------

def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, with the address in the message, when nothing listens there (``ray.init``
    would otherwise retry for a minute before a vague error)."""
    target = address.split("://", 1)[-1]
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--ray {address!r} is not local, auto or HOST:PORT",
                          hint="e.g. --ray 10.0.0.5:6379 (the address `ray start --head` prints)")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise BackendUnavailable(f"cannot reach the Ray cluster at {address}: {e.strerror or e}",
                                 hint="start it with `ray start --head` on that machine, or use --ray local") from e


def connect(address: str = "local", *, num_cpus: int | None = None, runtime_env: dict | None = None,
            object_store_mb: int = 200) -> bool:
    """Join (or, for ``local``, start) a Ray cluster. Returns whether this call started Ray (and
    so should shut it down). When Ray is already initialised in this process it is reused."""
    ray = _ray()
    if address not in ("local", "auto"):
        _check_reachable(address)
    if ray.is_initialized():
        return False
    common = {"logging_level": "ERROR", "log_to_driver": True, "runtime_env": runtime_env}
    if address == "local":
        # a small footprint: no dashboard, a small object store (rows and units are small)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, object_store_memory=object_store_mb * 1024 * 1024, **common)
        _watch(os.getpid())  # a killed driver must not leave Ray's agents behind
        return True
    try:
        ray.init(address=address, **common)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = "no running Ray cluster was found (--ray auto)" if address == "auto" else f"cannot join the Ray cluster at {address}"
        raise BackendUnavailable(f"{where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
                                 hint="start one with `ray start --head`, or use --ray local") from e
    return True


# ---- the worker actor ----------------------------------------------------------------------

_REAPER = r"""
import sys, time
try:
    import psutil
except ImportError:
    sys.exit(0)
pid = int(sys.argv[1])
try:
    parent = psutil.Process(pid)
except psutil.Error:
    sys.exit(0)
seen = {}
me = psutil.Process().pid
while parent.is_running() and parent.status() != psutil.STATUS_ZOMBIE:
    try:
        for p in parent.children(recursive=True):
            if p.pid != me:
                seen[p.pid] = p
    except psutil.Error:
        pass
    time.sleep(0.5)
for p in seen.values():
    try:
        if p.is_running():
            p.kill()
    except psutil.Error:
        pass
"""


_watched: set[int] = set()


def _watch(pid: int) -> int | None:
    """Start (once per process) a watchdog that kills every process it has seen under ``pid``
    once ``pid`` dies, however it dies (SIGKILL included). Returns the watchdog's pid."""
    if pid in _watched:
        return None
    _watched.add(pid)
    proc = subprocess.Popen([sys.executable, "-c", _REAPER, str(pid)], start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.pid


def _kill_tree(pid: int, *, include_self: bool = False) -> int:
    """SIGKILL the processes under ``pid`` (a browser, its site server), and ``pid`` itself when
    asked. Returns how many were killed."""
    try:
        import psutil
    except ImportError:
        return 0
    try:
        root = psutil.Process(pid)
        procs = root.children(recursive=True) + ([root] if include_self else [])
    except psutil.Error:
        return 0
    n = 0
    for p in procs:
        try:
            p.kill()
            n += 1
        except psutil.Error:
            pass
    return n


class UnitWorker:
    """The actor: holds one job's worker state and runs units on it, one at a time.

    A watchdog process started beside it records the processes under the worker (browsers
    spawned by Playwright start their own process group, so a group kill would miss them) and
    kills them when the worker dies, however it dies.
    """

    def __init__(self, job: Job):
        self.job = job
        self.state: Any = None
        self.ready = False
        self._reaper = _watch(os.getpid())

    def setup(self) -> dict:
        """Build the state (e.g. load the model) and say where this worker runs."""
        import ray

        self.state = self.job.make_state()
        self.ready = True
        return {"pid": os.getpid(), "node": ray.util.get_node_ip_address(), "reaper": self._reaper}

    def run(self, unit: Any) -> dict:
        return self.job.run_unit(self.state, unit)

    def close(self) -> bool:
        """Close the state (browsers, servers), then kill anything left under this process."""
        try:
            if self.ready:
                self.job.close_state(self.state)
        finally:
            self.ready = False
            _kill_tree(os.getpid())
        return True


# ---- the driver ------------------------------------------------------------------------------

@dataclass
class _Slot:
    actor: Any
    setup_ref: Any
    info: dict = field(default_factory=dict)
    ready: bool = False

    @property
    def wid(self) -> str:
        return f"{self.info.get('node', '?')}:{self.info.get('pid', '?')}"


@dataclass
class _Task:
    unit: Any
    uid: str
    attempt: int = 1
    tried_on: set = field(default_factory=set)
    reasons: list = field(default_factory=list)


@dataclass
class _InFlight:
    task: _Task
    slot: _Slot
    started: float
    cancelled_at: float | None = None


_MODULE = re.compile(r"No module named '([^']+)'")


def _setup_cause(err: BaseException) -> str:
    """A one-line cause from a failed actor setup."""
    text = str(err)
    m = _MODULE.search(text)
    if m:
        return f"a worker cannot import {m.group(1)!r}"
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith((" ", "\t", "File", "Traceback"))]
    return lines[-1] if lines else type(err).__name__


class RayRunner:
    """Run jobs on Ray actors (see the module docstring).

    Args:
        address: ``local`` (start a Ray instance in this process, sized to the workers),
            ``auto`` (the cluster this machine belongs to) or ``HOST:PORT`` of a head node.
        workers: actors at once; each takes ``job.num_cpus`` CPUs and ``num_gpus`` GPUs.
        unit_timeout: seconds a unit may run before it is cancelled (``None``: no limit).
        max_attempts: attempts per unit before it becomes an error row.
        cancel_grace: seconds a cancelled unit gets to stop before its worker is killed.
        num_gpus: GPUs per worker (overrides the job's; e.g. 1 for workers that load the model).
        runtime_env: Ray's runtime environment for the workers (e.g. ``{"py_modules": [...]}``
            when the cluster's machines do not have ponder installed).
        keep_workers: keep the workers (and Ray) between :meth:`map` calls of the same job, as
            the optimizer does for its many evaluations; :meth:`close` (or ``with``) ends them.
    """

    name = "ray"

    def __init__(self, address: str = "local", *, workers: int = 2, unit_timeout: float | None = None,
                 max_attempts: int = 3, cancel_grace: float = 5.0, num_gpus: float | None = None,
                 runtime_env: dict | None = None, poll: float = 0.5, keep_workers: bool = False):
        if workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be >= 1, got {max_attempts}")
        if unit_timeout is not None and unit_timeout <= 0:
            raise ConfigError(f"--unit-timeout must be positive, got {unit_timeout:g}")
        self.address = address or "local"
        self.workers = workers
        self.unit_timeout = unit_timeout
        self.max_attempts = max_attempts
        self.cancel_grace = cancel_grace
        self.num_gpus = num_gpus
        self.runtime_env = runtime_env
        self.poll = poll
        self.keep_workers = keep_workers
        self._job: Job | None = None
        self._started_ray = False
        self.last_stats: RunStats | None = None
        self.slots: list[_Slot] = []  # the live workers (for tests and tools that watch a run)

    # -- workers --
    def _start(self, actor_cls: Any, job: Job, stats: RunStats) -> _Slot:
        opts: dict = {"num_cpus": job.num_cpus, "num_gpus": self.num_gpus if self.num_gpus is not None else job.num_gpus,
                      "max_restarts": 0, "max_task_retries": 0}
        actor = actor_cls.options(**opts).remote(job)
        stats.workers_started += 1
        slot = _Slot(actor, actor.setup.remote())
        self.slots.append(slot)
        return slot

    def _kill(self, slot: _Slot, *, graceful: bool) -> None:
        ray = _ray()
        if slot in self.slots:
            self.slots.remove(slot)
        if graceful and slot.ready:
            try:
                ray.get(slot.actor.close.remote(), timeout=30)
            except Exception:
                pass
        # processes under a worker on this machine are killed here too (its watchdog does it
        # wherever the worker runs)
        if slot.info.get("pid") and slot.info.get("node") == ray.util.get_node_ip_address():
            _kill_tree(int(slot.info["pid"]))
        try:
            ray.kill(slot.actor, no_restart=True)
        except Exception:
            pass

    # -- the loop --
    def map(self, job: Job, units: Sequence[Any], *, key: Callable[[Any], str],
            on_row: Callable[[Any, dict], None]) -> RunStats:
        ray = _ray()
        stats = RunStats(backend=f"ray ({self.address})", units=len(units))
        self.last_stats = stats
        if not units:
            return stats
        try:
            ray.cloudpickle.dumps(job)
        except Exception as e:
            raise ConfigError(f"the {job.name} job cannot be sent to Ray workers: {type(e).__name__}: {e}",
                              hint="pass models by registry name or as a module-level factory, not as a loaded object") from e
        n_workers = self.workers if self.keep_workers else min(self.workers, len(units))
        self._started_ray = connect(self.address, num_cpus=max(1, int(n_workers * max(job.num_cpus, 1))),
                                    runtime_env=self.runtime_env) or self._started_ray
        actor_cls = ray.remote(UnitWorker)
        if self._job is not job:  # workers built for another job cannot serve this one
            self._end_workers()
            self._job = job
        queue: deque[_Task] = deque(_Task(u, key(u)) for u in units)
        inflight: dict[Any, _InFlight] = {}
        fatal: PonderError | None = None
        finished = False
        try:
            self._check_resources(job)
            while len(self.slots) < n_workers:
                self._start(actor_cls, job, stats)
            while inflight or (queue and fatal is None):
                # hand a unit to every idle, ready worker (another worker than the ones it failed on)
                if fatal is None:
                    busy = {id(f.slot) for f in inflight.values()}
                    for slot in [s for s in self.slots if s.ready and id(s) not in busy]:
                        if not queue:
                            break
                        task = next((t for t in queue if slot.wid not in t.tried_on), queue[0])
                        queue.remove(task)
                        task.tried_on.add(slot.wid)
                        inflight[slot.actor.run.remote(task.unit)] = _InFlight(task, slot, time.monotonic())
                        if stats.first_dispatch is None:
                            stats.first_dispatch = time.perf_counter()
                setting_up = {s.setup_ref: s for s in self.slots if not s.ready} if fatal is None else {}
                refs = list(inflight) + list(setting_up)
                if not refs:  # every worker is gone: start another rather than leave units undone
                    self._start(actor_cls, job, stats)
                    continue
                ready, _ = ray.wait(refs, num_returns=1, timeout=self._next_wait(inflight))
                for ref in ready:
                    if ref in setting_up:
                        slot = setting_up[ref]
                        try:
                            slot.info = ray.get(ref)
                            slot.ready = True
                        except Exception as e:
                            fatal = RayWorkerError(f"a Ray worker could not be set up for the {job.name} job: {_setup_cause(e)}",
                                                   hint="check that ponder and the model load on every node "
                                                        "(runtime_env py_modules/pip, or install ponder there)")
                            self._kill(slot, graceful=False)
                        continue
                    flight = inflight.pop(ref)
                    try:
                        row = ray.get(ref)
                    except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as e:
                        if flight.cancelled_at is not None:  # it died while timing out
                            self._timed_out(flight, queue, stats, job, on_row, actor_cls, fatal, killed=True)
                        else:
                            stats.worker_deaths += 1
                            self._failed(flight, "its worker died" + self._died_detail(e), queue, stats, job, on_row,
                                         replace=lambda: self._start(actor_cls, job, stats), fatal=fatal)
                        continue
                    except ray.exceptions.TaskCancelledError:
                        self._timed_out(flight, queue, stats, job, on_row, actor_cls, fatal)
                        continue
                    except ray.exceptions.RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        if flight.cancelled_at is not None:  # it stopped on unit_cancelled(): the worker lives on
                            self._timed_out(flight, queue, stats, job, on_row, actor_cls, fatal)
                            continue
                        if isinstance(cause, PonderError):
                            fatal = fatal or cause
                            continue
                        reason = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) else str(e).splitlines()[0]
                        self._failed(flight, reason, queue, stats, job, on_row, replace=None, fatal=fatal)
                        continue
                    self._row(flight, row, job, on_row, stats)
                self._enforce_timeouts(inflight, queue, stats, job, on_row, actor_cls, fatal)
            finished = True
        finally:
            if not self.keep_workers or fatal is not None or not finished:
                self.close()
        if fatal is not None:
            raise fatal
        return stats

    def _end_workers(self) -> None:
        """Ask every worker to close its state (all at once, 30 s in all), then kill them."""
        ray = _ray()
        closing = [s.actor.close.remote() for s in self.slots if s.ready]
        if closing:
            try:
                ray.wait(closing, num_returns=len(closing), timeout=30)
            except Exception:
                pass
        for slot in list(self.slots):
            self._kill(slot, graceful=False)
        self._job = None

    def close(self) -> None:
        """End the workers (closing their browsers) and the Ray instance this runner started."""
        if self.slots:
            self._end_workers()
        self._job = None
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_resources(self, job: Job) -> None:
        """A worker that asks for more than the cluster has would wait forever: say so now."""
        have = _ray().cluster_resources()
        gpus = self.num_gpus if self.num_gpus is not None else job.num_gpus
        for name, want in (("GPU", gpus), ("CPU", job.num_cpus)):
            if want and have.get(name, 0) < want:
                raise ConfigError(f"each {job.name} worker asks for {want:g} {name}(s) but the Ray cluster has "
                                  f"{have.get(name, 0):g}", hint="join a node that has them, or ask for fewer (--worker-gpus)")

    def _next_wait(self, inflight: dict) -> float:
        if self.unit_timeout is None:
            return self.poll * 4
        now = time.monotonic()
        deadlines = [(f.cancelled_at + self.cancel_grace) if f.cancelled_at else (f.started + self.unit_timeout)
                     for f in inflight.values()]
        return max(0.05, min([self.poll * 4, *[d - now for d in deadlines]]))

    @staticmethod
    def _died_detail(err: BaseException) -> str:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return f" ({first})" if first else ""

    def _row(self, flight: _InFlight, row: dict, job: Job, on_row: Callable, stats: RunStats) -> None:
        if job.finish is not None:
            row = job.finish(row)
        row["worker"] = {"id": flight.slot.wid, "attempt": flight.task.attempt}
        on_row(flight.task.unit, row)
        stats.rows += 1
        stats.last_row = time.perf_counter()

    def _failed(self, flight: _InFlight, reason: str, queue: deque, stats: RunStats, job: Job, on_row: Callable,
                *, replace: Callable[[], Any] | None, fatal: PonderError | None) -> None:
        """One attempt failed: retry the unit elsewhere, or write its error row."""
        task = flight.task
        task.reasons.append(f"attempt {task.attempt} on {flight.slot.wid}: {reason}")
        stats.failures.append(f"{task.uid}: {task.reasons[-1]}")
        if replace is not None:  # the worker is gone: drop it and start another
            self._kill(flight.slot, graceful=False)
            if fatal is None:
                replace()
        if task.attempt < self.max_attempts and fatal is None:
            task.attempt += 1
            stats.retries += 1
            queue.appendleft(task)  # first in line: rows keep close to the order of the units
            return
        if fatal is not None and task.attempt < self.max_attempts:
            return  # the run stops; the unit stays undone and runs on the next resume
        row = job.error_row(task.unit, f"failed {task.attempt} time(s): " + "; ".join(task.reasons))
        row["worker"] = {"id": flight.slot.wid, "attempt": task.attempt}
        on_row(task.unit, row)
        stats.rows += 1
        stats.error_rows += 1
        stats.last_row = time.perf_counter()

    def _timed_out(self, flight: _InFlight, queue: deque, stats: RunStats, job: Job, on_row: Callable,
                   actor_cls: Any, fatal: PonderError | None, *, killed: bool = False) -> None:
        stats.timeouts += 1
        what = "killed with its worker" if killed else "cancelled"
        self._failed(flight, f"timed out after {self.unit_timeout:g} s ({what})", queue, stats, job, on_row,
                     replace=(lambda: self._start(actor_cls, job, stats)) if killed else None, fatal=fatal)

    def _enforce_timeouts(self, inflight: dict, queue: deque, stats: RunStats, job: Job, on_row: Callable,
                          actor_cls: Any, fatal: PonderError | None) -> None:
        if self.unit_timeout is None:
            return
        ray = _ray()
        now = time.monotonic()
        for ref, flight in list(inflight.items()):
            if flight.cancelled_at is None and now - flight.started > self.unit_timeout:
                flight.cancelled_at = now
                try:
                    ray.cancel(ref)  # a unit that polls unit_cancelled() stops here
                except Exception:
                    pass
            elif flight.cancelled_at is not None and now - flight.cancelled_at > self.cancel_grace:
                del inflight[ref]  # a late answer from this unit is never looked at
                self._timed_out(flight, queue, stats, job, on_row, actor_cls, fatal, killed=True)


def kill_signal_worker(pid: int) -> None:
    """SIGKILL one worker process (tests and the bench use it to imitate a crash)."""
    os.kill(pid, signal.SIGKILL)
