"""The optimiser's wiring as one library call: from settings (task set, budget, objective,
method, model pool) to the search space, evaluator, method and resumable driver, and the result
file ``ponder optimize`` writes. The CLI parses options and prints; this module does the work."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from ponder.errors import ConfigError
from ponder.files import write_atomic, write_json_atomic

#: The model pool ``ponder optimize`` searches by default.
DEFAULT_POOL = ("smollm2-135m", "llamacpp:gemma3-270m")

OptimizerMethod = Literal["agent-reinforce", "reinforce", "random", "tpe"]
ObjectiveName = Literal["acc", "acc-latency", "acc-flops"]


def pool_parameters(pool: Iterable[str]) -> dict[str, int]:
    """Parameter counts of the pool's models (registry figures, else the loaded model's)."""
    from ponder.graphs.cost import registry_parameters
    from ponder.models.registry import load_model, resolve

    params = {}
    for name in pool:
        resolve(name)  # ModelNotFound names the model
        params[name] = registry_parameters(name) or load_model(name).info.parameters
    return params


def optimize_graph(
    *,
    budget: float,
    tasks: str = "synthetic",
    objective: ObjectiveName = "acc",
    method: OptimizerMethod = "agent-reinforce",
    out: str | Path = "best.json",
    pool: Sequence[str] = DEFAULT_POOL,
    evals: float = 20,
    minibatch: int = 6,
    test: int = 0,
    max_width: int = 3,
    max_depth: int = 2,
    max_tokens: int = 12,
    granularity: Literal["node", "layer"] = "node",
    optimizer_model: str = "rule",
    halving: bool = True,
    concurrency: int = 4,
    weight: float = 0.1,
    seed: int = 0,
    compare_singles: bool = True,
    runner: Any = None,
) -> dict[str, Any]:
    """Search for the best collaboration graph for a task set under a compute budget.

    The run is resumable: its state (``<out>.state.json``) and an evaluation cache
    (``<out>.cache.jsonl``) sit beside ``out``; calling again with the same settings continues
    where a killed run stopped and pays for nothing twice.

    Args:
        budget: compute per question in units (1 = one call of the smallest pool model).
        tasks: ``synthetic[:N]`` or ``hotpotqa[:N]`` (two-stage retrieve-then-answer).
        objective: ``acc``, or accuracy penalised by latency or FLOPs (``weight``).
        method: the optimiser.
        out: the result file (JSON, also returned).
        pool: registry names the graphs may use.
        evals: evaluation budget in full-minibatch evaluations (cached items are free).
        minibatch: questions per evaluation.
        test: held-out questions on which the best graph is compared with each model alone at
            the same budget (and each model's single call when ``compare_singles``).
        max_width, max_depth: the widest layer and the deepest graph considered.
        max_tokens: new tokens per node call.
        granularity: ``node`` (a model per node) or ``layer`` (a model per layer).
        optimizer_model: the optimiser agent for agent-reinforce: ``rule`` (the documented
            feedback rule), ``none`` (numeric REINFORCE only) or a registry name.
        halving: successive halving when a step evaluates several graphs.
        concurrency: questions run at once.
        seed: the random seed.
        runner: a backend for the graph runs (e.g. a
            :class:`~ponder.evals.ray_runner.RayRunner` with ``keep_workers=True``); ``None``:
            threads in this process. The cache and the state stay with this process either way.

    Returns:
        The result file's content: ``graph`` (the best graph spec as a dict, or ``None``; load it
        with :meth:`~ponder.graphs.spec.GraphSpec.from_dict`), ``best`` (its score, accuracy,
        cost, configuration), ``settings``, evaluation and optimiser spend, ``history`` and,
        with ``test``, ``comparison``.

    Raises:
        ConfigError: an empty pool, a budget too small for any graph, an unknown method,
            objective or task set. ModelNotFound: a pool name the registry does not know.
    """
    from ponder.graphs.cost import CostModel
    from ponder.graphs.optimizer.cache import EvalCache
    from ponder.graphs.optimizer.evaluate import TaskEvaluator
    from ponder.graphs.optimizer.objectives import Objective
    from ponder.graphs.optimizer.run import Driver, make_method
    from ponder.graphs.optimizer.space import LayeredGraphSpace
    from ponder.graphs.optimizer.tasks import load_task

    names = [p.strip() for p in pool if p.strip()]
    if not names:
        raise ConfigError("the model pool is empty", hint="pass at least one registry name (--pool)")
    if budget <= 0:
        raise ConfigError(f"--budget must be positive, got {budget:g}")
    obj = Objective(objective, weight)
    params = pool_parameters(names)
    task, dev, held = load_task(tasks, minibatch=minibatch, test=test, seed=seed)
    cm = CostModel(parameters=params, base_prompt_tokens=task.prompt_tokens, unit_max_tokens=max_tokens, pool=tuple(names))
    if hasattr(task, "make_space"):
        space = task.make_space(names, budget, cost_model=cm, max_tokens=max_tokens)
    else:
        space = LayeredGraphSpace(names, budget, max_width=max_width, max_depth=max_depth, cost_model=cm,
                                  max_tokens=max_tokens, granularity=granularity)
    space.check_budget()
    out_path = Path(out)
    evaluator = TaskEvaluator(space, task, minibatch=minibatch, objective=obj, items=dev, concurrency=concurrency,
                              cache=EvalCache(out_path.with_name(out_path.name + ".cache.jsonl")), runner=runner)
    agent = None
    if method == "agent-reinforce" and optimizer_model not in ("rule", "none"):
        from ponder.agents.optimizer_agent import LLMOptimizerAgent
        from ponder.models.registry import load_model

        agent = LLMOptimizerAgent(load_model(optimizer_model))
    m = make_method(method, space, seed=seed, agent=agent)
    if method == "agent-reinforce" and optimizer_model == "none":
        m.agent = None  # type: ignore[attr-defined]
    settings = {"tasks": tasks, "budget": budget, "objective": objective, "weight": weight, "method": method, "pool": names,
                "minibatch": minibatch, "max_width": max_width, "max_depth": max_depth, "max_tokens": max_tokens,
                "granularity": granularity, "optimizer_model": optimizer_model, "halving": halving, "seed": seed}
    driver = Driver(m, evaluator, max_evals=evals, state_path=out_path.with_name(out_path.name + ".state.json"),
                    settings=settings, halving=halving)
    result = driver.run()
    report = result.report
    payload: dict[str, Any] = {
        "graph": result.best["graph"] if result.best else None,
        "best": result.best,
        "settings": settings,
        "evaluations_used": result.evaluations_used,
        "graph_evaluations": result.evaluations,
        "resumed_batches": result.resumed_batches,
        "evaluation_spend": sum_usage(r.get("usage") or {} for r in result.history),
        "optimizer_spend": report.get("optimizer_usage", {}),
        "cache": {"entries": len(evaluator.cache), "hits": evaluator.cache.hits},
        "method_report": report,
        "history": result.history,
    }
    if test and held and result.best:
        payload["comparison"] = compare(space, task, held, result.best["config"], concurrency=concurrency, obj=obj,
                                        singles=compare_singles,
                                        partial_path=out_path.with_name(out_path.name + ".compare.json"), runner=runner)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out_path, json.dumps(payload, indent=1, default=str) + "\n")
    return payload


def compare(space, task, items, best_config, *, concurrency: int = 4, obj=None, singles: bool = True,
            partial_path: Path | None = None, runner: Any = None) -> dict:
    """Accuracy on held-out items of the best graph and of each model alone at the same budget
    (self-consistency as wide as fits), plus each model's single call when ``singles``. Rows are
    written to ``partial_path`` as they finish, and read back from it on a rerun."""
    from ponder.graphs.optimizer.evaluate import TaskEvaluator

    ev = TaskEvaluator(space, task, minibatch=len(items), items=items, concurrency=concurrency, objective=obj, runner=runner)
    rows = {"best graph": best_config}
    for cfg in space.pilot_configs():
        rows[f"{space.describe(cfg)}"] = cfg
    if singles:
        cheapest = space.cheapest()
        for model in getattr(space, "pool", ()):
            rows.setdefault(f"{model} single call", {**cheapest, **{k: model for k in cheapest if "model" in k}})
    out: dict = {}
    if partial_path is not None and partial_path.exists():
        out = json.loads(partial_path.read_text())
    for label, cfg in rows.items():
        if label in out and out[label].get("describe") == space.describe(cfg) and out[label].get("items") == len(items):
            continue
        e = ev.evaluate(cfg)
        out[label] = {"accuracy": round(e.accuracy, 4), "cost_units": round(e.cost, 3), "describe": space.describe(cfg),
                      "items": len(items), "usage": e.usage}
        if partial_path is not None:
            write_json_atomic(partial_path, out, indent=1)
    out["_items"] = len(items)
    out["_spend"] = ev.usage.to_dict()
    return out


def sum_usage(rows: Iterable[dict]) -> dict:
    """Total of usage dicts (every evaluation's new runs, across resumed processes)."""
    total: dict[str, float] = {}
    for row in rows:
        for k, v in row.items():
            total[k] = round(total.get(k, 0) + v, 4)
    return total
