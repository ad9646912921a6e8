"""Evaluating a config: on the synthetic response surface, or by running its graph on a task's
minibatch with real models (through the graph+item cache).

Every evaluation reports the objective's score, the accuracy, the cost model's estimate (units
and critical-path latency), how many items it covered and how many of those were new (not
cached), and the measured usage of the new runs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ponder.graphs.optimizer.cache import EvalCache
from ponder.graphs.optimizer.objectives import Objective
from ponder.graphs.optimizer.space import Config, Space, config_key
from ponder.usage import Usage


@dataclass
class Evaluation:
    config: Config
    score: float
    accuracy: float
    cost: float
    latency: float
    items: int
    new_items: int = 0
    usage: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def key(self) -> str:
        return config_key(self.config)

    def to_dict(self) -> dict:
        return {"config": self.config, "score": round(self.score, 6), "accuracy": round(self.accuracy, 6),
                "cost": round(self.cost, 4), "latency": round(self.latency, 4), "items": self.items,
                "new_items": self.new_items, "usage": self.usage, "seconds": round(self.seconds, 3)}

    @classmethod
    def from_dict(cls, d: dict) -> Evaluation:
        return cls(**{k: d[k] for k in ("config", "score", "accuracy", "cost", "latency", "items", "new_items", "usage", "seconds") if k in d})


class Evaluator(Protocol):
    space: Space
    minibatch: int

    def evaluate(self, config: Config, items: int | None = None) -> Evaluation: ...


class SurfaceEvaluator:
    """Evaluations on a :class:`~ponder.graphs.optimizer.surface.Surface` (one full minibatch each)."""

    def __init__(self, surface, objective: Objective | None = None):
        self.surface = surface
        self.space = surface.space
        self.minibatch = surface.items
        self.objective = objective or Objective()

    def evaluate(self, config: Config, items: int | None = None) -> Evaluation:
        acc = self.surface.evaluate(config)
        cost, latency = self.space.cost(config), self.space.latency(config)
        return Evaluation(config, self.objective.score(acc, cost=cost, latency=latency, budget=self.space.budget),
                          acc, cost, latency, self.minibatch, self.minibatch)


class TaskEvaluator:
    """Runs a config's graph on the first ``items`` questions of a fixed minibatch.

    Args:
        space: the search space (turns configs into specs, prices them).
        task: an object with ``items`` (each with ``id`` and ``query``) and ``score(item, answer)``.
        minibatch: how many of the task's optimisation items one full evaluation uses.
        cache: graph+item results; a re-evaluation costs nothing.
        models: model instances by name (tests); others load from the registry.
        concurrency: questions run at once (their same-model calls batch together).
        runner: a backend (e.g. :class:`~ponder.evals.ray_runner.RayRunner`) that runs each
            (graph, item) on its workers; the cache stays here (see
            :mod:`ponder.graphs.optimizer.remote`).
    """

    def __init__(self, space: Space, task, *, minibatch: int = 8, objective: Objective | None = None,
                 cache: EvalCache | None = None, models: Mapping[str, Any] | None = None, concurrency: int = 4,
                 items: Sequence | None = None, usage: Usage | None = None, runner: Any = None):
        self.space = space
        self.task = task
        pool = list(items if items is not None else task.items)
        self.items = pool[:minibatch]
        self.minibatch = len(self.items)
        self.objective = objective or Objective()
        self.cache = cache if cache is not None else EvalCache()
        self.models = dict(models or {})
        self.concurrency = concurrency
        self.usage = usage or Usage(name="evaluations")  # spend on evaluations (the optimizer's own is separate)
        self.runner = runner

    def run_items(self, spec, items: Sequence) -> list[dict]:
        """Correctness records for ``items`` (cached ones are not run)."""
        from ponder.graphs.compile import CompiledGraph
        from ponder.graphs.cost import CostModel

        key = spec.key()
        records: dict[str, dict] = {}
        todo = []
        for it in items:
            found = self.cache.get(key, it.id)
            if found is not None:
                records[it.id] = found
            else:
                todo.append(it)
        if todo and self.runner is not None:
            from ponder.graphs.optimizer.remote import run_graph_items

            records.update(run_graph_items(self.runner, self, spec, todo))
        elif todo:
            cm = self.space.cost_model
            cm = CostModel({**cm.parameters, **{k: m.info.parameters for k, m in self.models.items()}},
                           cm.base_prompt_tokens, cm.unit_max_tokens, cm.pool)
            retriever = self.task.retriever() if hasattr(self.task, "retriever") else None
            graph = CompiledGraph(spec, models=self.models, cost_model=cm, retriever=retriever)
            results = graph.run_many([it.query for it in todo], concurrency=self.concurrency)
            for it, res in zip(todo, results, strict=True):
                if isinstance(res, BaseException):
                    rec = {"correct": 0.0, "answer": "", "error": str(res), "usage": {}}
                else:
                    rec = {"correct": float(self.task.score(it, res.answer)), "answer": res.answer,
                           "usage": res.usage.to_dict(), "seconds": round(res.seconds, 3)}
                    self.usage.add(res.usage)
                self.cache.put(key, it.id, rec)
                records[it.id] = {**rec, "new": True}
        return [records[it.id] for it in items]

    def evaluate(self, config: Config, items: int | None = None) -> Evaluation:
        n = min(items or self.minibatch, self.minibatch)
        spec = self.space.to_spec(config)
        start = time.perf_counter()
        recs = self.run_items(spec, self.items[:n])
        acc = sum(r["correct"] for r in recs) / max(1, len(recs))
        new = [r for r in recs if r.get("new")]
        usage: dict[str, float] = {}
        for r in new:
            for k, v in (r.get("usage") or {}).items():
                usage[k] = round(usage.get(k, 0) + v, 4)
        cost, latency = self.space.cost(config), self.space.latency(config)
        return Evaluation(config, self.objective.score(acc, cost=cost, latency=latency, budget=self.space.budget),
                          acc, cost, latency, n, len(new), usage, time.perf_counter() - start)
