"""``ponder bench NAME --json``: each benchmark is a module with ``run(*, quick=False, **opts)
-> dict`` returning its metrics. Figures are compared as ratios measured within one run, since
timings on a shared machine are noisy."""

from __future__ import annotations

import importlib
import platform
import time

from ponder.errors import ConfigError

#: name -> (module, one-line description)
BENCHES: dict[str, tuple[str, str]] = {
    "sampling": ("ponder.evals.bench.sampling", "SmolLM2 tokens/s: 8 sequential calls vs one batched call vs llama.cpp"),
    "env": ("ponder.evals.bench.env", "web environment step, snapshot-restore and replay latency"),
    "search": ("ponder.evals.bench.search", "tree-search overhead per expanded node"),
    "retrieval": ("ponder.evals.bench.retrieval", "embedding throughput, recall and query latency"),
    "optimizer": ("ponder.evals.bench.optimizer", "evaluations to the optimum for graph optimizers"),
    "service": ("ponder.evals.bench.service", "RAG service under 32 concurrent clients"),
    "ray": ("ponder.evals.bench.ray", "Ray backend: dispatch overhead, rows exactly once after a worker kill, 2-worker scaling"),
}


def run_bench(name: str, *, quick: bool = False, **opts) -> dict:
    if name not in BENCHES:
        raise ConfigError(f"unknown bench {name!r}", hint=f"one of: {', '.join(BENCHES)}")
    module_name, _ = BENCHES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise ConfigError(f"bench {name!r} is not built yet") from e
        raise
    start = time.time()
    metrics = module.run(quick=quick, **opts)
    return {
        "bench": name,
        "metrics": metrics,
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "seconds": round(time.time() - start, 2),
    }
