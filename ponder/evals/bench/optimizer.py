"""``ponder bench optimizer``: evaluations each graph optimizer needs to reach the optimum of a
seeded response surface (:mod:`ponder.graphs.optimizer.surface`).

Every method gets the same surface, the same noise model and the same evaluation cap; a run
counts every evaluation it asks for (Agent-REINFORCE's pilot included) and stops at the first
evaluation of an optimal graph (true score within ``tol`` of the enumerated optimum). A run that
never gets there counts as ``max_evals + 1`` (censored); the censored share is reported, and it
can only make a method's median look *better* than it is, so a censored random baseline makes
``evals_ratio_vs_random`` an upper bound.

Seeds alternate between the two surface tasks (``math``, ``facts``). Options (``--set k=v``):
``seeds`` (20), ``max_evals`` (800, GPTSwarm's MMLU figure), ``items`` (minibatch size: the
noise, 32), ``methods`` (comma list), ``tasks`` (comma list).
"""

from __future__ import annotations

import statistics

from ponder.graphs.optimizer.run import make_method
from ponder.graphs.optimizer.surface import Surface

METHODS = ("agent-reinforce", "reinforce", "random", "tpe")


def evals_to_optimum(method_name: str, task: str, seed: int, *, max_evals: int, items: int, tol: float = 1e-6) -> int:
    """Evaluations until ``method_name`` first evaluates an optimal graph (``max_evals + 1`` if never)."""
    from ponder.graphs.optimizer.evaluate import SurfaceEvaluator

    surface = Surface(task, items=items, seed=seed * 7919 + 17)
    evaluator = SurfaceEvaluator(surface)
    method = make_method(method_name, surface.space, seed=seed)
    method.minibatch = items
    used = 0
    while used < max_evals:
        configs = method.ask()
        evaluations = []
        for c in configs:
            if used >= max_evals:
                break
            used += 1
            if surface.is_optimal(c, tol):
                return used
            evaluations.append(evaluator.evaluate(c))
        method.tell(evaluations)
    return max_evals + 1


def run(*, quick: bool = False, seeds: str | int = 20, max_evals: str | int = 800, items: str | int = 32,
        methods: str = ",".join(METHODS), tasks: str = "math,facts", **_: str) -> dict:
    n_seeds = 4 if quick else int(seeds)
    cap = 200 if quick else int(max_evals)
    task_list = [t for t in str(tasks).split(",") if t]
    names = [m for m in str(methods).split(",") if m]
    metrics: dict[str, float] = {"seeds": n_seeds, "max_evals": cap, "minibatch_items": int(items)}
    per_method: dict[str, list[int]] = {}
    for name in names:
        counts = [evals_to_optimum(name, task_list[s % len(task_list)], s, max_evals=cap, items=int(items))
                  for s in range(n_seeds)]
        per_method[name] = counts
        key = name.replace("-", "_")
        metrics[f"evals_to_optimum_median_{key}"] = float(statistics.median(counts))
        metrics[f"censored_share_{key}"] = round(sum(c > cap for c in counts) / len(counts), 3)
        for task in task_list:
            sub = [c for s, c in enumerate(counts) if task_list[s % len(task_list)] == task]
            if sub:
                metrics[f"evals_to_optimum_median_{key}_{task}"] = float(statistics.median(sub))
    if "random" in per_method:
        rnd = statistics.median(per_method["random"])
        for name in ("agent-reinforce", "reinforce"):
            if name in per_method:
                metrics[f"evals_ratio_vs_random_{name.replace('-', '_')}"] = round(statistics.median(per_method[name]) / rnd, 4)
        best = min((statistics.median(per_method[n]) for n in ("agent-reinforce", "reinforce") if n in per_method), default=None)
        if best is not None:
            metrics["evals_ratio_vs_random"] = round(best / rnd, 4)
        if "tpe" in per_method:
            metrics["evals_ratio_vs_random_tpe"] = round(statistics.median(per_method["tpe"]) / rnd, 4)
    return metrics
