"""``ponder bench ray``: what running units on Ray costs and gains, on a local Ray instance with
two CPUs (the workers are separate processes, as on a cluster).

- ``dispatch_overhead_ms_per_unit``: (Ray time - local-thread time) / units for the same
  scripted units that return at once, two workers each, rows written by the driver either way;
  workers are started (and warmed) before the clock starts (target <= 20).
- ``scaling_2_workers``: units per second with two Ray workers over one, on 20 units that sleep
  0.5 s instead of computing (so the two cores do not limit it; long enough that the few-ms
  driver-worker round trip is not what is measured; target >= 1.8).
- ``rows_exactly_once``: 1 when, after a worker is SIGKILLed mid-run, every unit has exactly
  one row (target 1); ``worker_deaths`` and ``retries`` say what the runner saw.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ponder.evals.runner import Job, LocalRunner, RunStats, read_rows, run_job


def _state() -> dict:
    return {"pid": os.getpid()}


def quick_unit(state: dict, unit: dict) -> dict:
    return {"value": unit["n"] * 2, "success": True, "score": 1.0}


def sleep_unit(state: dict, unit: dict) -> dict:
    time.sleep(unit["sleep"])
    return {"value": unit["n"], "success": True, "score": 1.0}


def crash_once_unit(state: dict, unit: dict) -> dict:
    """Unit ``crash`` SIGKILLs its own worker the first time it runs (a marker file remembers)."""
    marker = unit.get("crash")
    if marker and not os.path.exists(marker):
        Path(marker).write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return {"value": unit["n"], "success": True, "score": 1.0}


def _timed(runner, job: Job, units: list[dict], out: Path) -> tuple[float, RunStats]:
    """Seconds from the first unit handed out to the last row written (workers already up)."""
    run_job(job, units, out=out, key=lambda u: u["id"], runner=runner, show_progress=False)
    stats = runner.last_stats
    return (stats.last_row or 0) - (stats.first_dispatch or 0), stats


def run(*, quick: bool = False, **_) -> dict:
    """Measure on a fresh local Ray instance; returns the metrics (see the module docstring)."""
    # Ray prints worker deaths (the crash measurement causes one) to stdout: keep stdout for the JSON
    with contextlib.redirect_stdout(sys.stderr):
        return _measure(quick)


def _measure(quick: bool) -> dict:
    import ray

    from ponder.evals.ray_runner import RayRunner

    n_quick = 100 if quick else 300
    n_sleep, nap = (16, 0.2) if quick else (20, 0.5)
    ray.init(address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024 * 1024, logging_level="ERROR",
             log_to_driver=False)  # stdout carries only the JSON
    metrics: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            units = [{"id": f"q{i}", "n": i} for i in range(n_quick)]
            job = Job(_state, quick_unit, name="bench")
            local_s, _ = _timed(LocalRunner(2), job, units, d / "local.jsonl")
            with RayRunner("local", workers=2, keep_workers=True) as runner:
                run_job(job, [{"id": "warm-a", "n": 0}, {"id": "warm-b", "n": 1}], out=d / "warm.jsonl",
                        key=lambda u: u["id"], runner=runner, show_progress=False)
                ray_s, _ = _timed(runner, job, units, d / "ray.jsonl")
            metrics["units"] = n_quick
            metrics["local_ms_per_unit"] = round(local_s / n_quick * 1000, 3)
            metrics["ray_ms_per_unit"] = round(ray_s / n_quick * 1000, 3)
            metrics["dispatch_overhead_ms_per_unit"] = round(max(0.0, ray_s - local_s) / n_quick * 1000, 3)

            rates = {}
            sleepy = Job(_state, sleep_unit, name="bench-sleep")
            for workers in (1, 2):
                with RayRunner("local", workers=workers, keep_workers=True) as runner:
                    run_job(sleepy, [{"id": f"warm{i}", "n": i, "sleep": 0.0} for i in range(workers)],
                            out=d / f"warm{workers}.jsonl", key=lambda u: u["id"], runner=runner, show_progress=False)
                    seconds, _ = _timed(runner, sleepy, [{"id": f"s{i}", "n": i, "sleep": nap} for i in range(n_sleep)],
                                        d / f"sleep{workers}.jsonl")
                rates[workers] = n_sleep / seconds
            metrics["units_per_s_1_worker"] = round(rates[1], 3)
            metrics["units_per_s_2_workers"] = round(rates[2], 3)
            metrics["scaling_2_workers"] = round(rates[2] / rates[1], 3)

            crash_units = [{"id": f"c{i}", "n": i, **({"crash": str(d / "crashed")} if i == 5 else {})} for i in range(16)]
            out = d / "crash.jsonl"
            runner = RayRunner("local", workers=2)
            run_job(Job(_state, crash_once_unit, name="bench-crash"), crash_units, out=out, key=lambda u: u["id"],
                    runner=runner, show_progress=False)
            counts = Counter(r["id"] for r in read_rows(out))
            exact = len(counts) == len(crash_units) and set(counts.values()) == {1}
            metrics["rows_exactly_once"] = 1 if exact else 0
            metrics["worker_deaths"] = runner.last_stats.worker_deaths
            metrics["retries"] = runner.last_stats.retries
    finally:
        ray.shutdown()
    metrics["targets"] = {"dispatch_overhead_ms_per_unit": "<= 20", "rows_exactly_once": "1", "scaling_2_workers": ">= 1.8"}
    return metrics
