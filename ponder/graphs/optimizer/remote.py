"""Graph evaluations on a runner backend (``ponder optimize --ray``): a unit is one (graph, item)
run, so the items of one evaluation spread over the workers; each worker keeps its loaded models
(and the task's retriever) across units and evaluations.

The driver still owns the :class:`~ponder.graphs.optimizer.cache.EvalCache`: it scores each
answer and writes its record as the unit finishes, so a killed optimisation keeps every run it
paid for, exactly as with the local path.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ponder.errors import BudgetExceeded
from ponder.graphs.cost import CostModel

if TYPE_CHECKING:  # graphs never import evals at run time (the runner is handed in)
    from ponder.evals.runner import Runner


def _retriever_factory(task: Any) -> Callable[[], Any] | None:
    """What a worker calls to build the task's retriever (the task object itself may hold
    locks and need not travel)."""
    if not hasattr(task, "retriever"):
        return None
    passages = getattr(task, "passages", None)
    if passages is not None:
        from ponder.graphs.optimizer.tasks.hotpotqa import corpus_retriever

        return functools.partial(corpus_retriever, list(passages))
    return task.retriever


@dataclass
class GraphRuns:
    """The optimizer's graph runs as a job for :func:`ponder.evals.runner.run_job`'s backends (it
    has the fields of :class:`~ponder.evals.runner.Job`). A unit is ``(spec, item, seed)``; its
    row holds the answer, usage and seconds (the driver scores it)."""

    cost_model: CostModel
    models: Mapping[str, Any] = field(default_factory=dict)  # instances (tests); others load by name
    retriever: Callable[[], Any] | None = None
    num_cpus: float = 1
    num_gpus: float = 0
    name: str = "graph evaluation"
    finish: Callable[[dict], dict] | None = None

    def close_state(self, state: dict) -> None:
        return None

    def error_row(self, unit: tuple, reason: str) -> dict:
        return {"error": reason}

    def make_state(self) -> dict:
        return {"retriever": self.retriever() if self.retriever is not None else None}

    def run_unit(self, state: dict, unit: tuple) -> dict:
        from ponder.graphs.compile import CompiledGraph

        spec, item, seed = unit
        models = dict(self.models)
        cm = CostModel({**self.cost_model.parameters, **{k: m.info.parameters for k, m in models.items()}},
                       self.cost_model.base_prompt_tokens, self.cost_model.unit_max_tokens, self.cost_model.pool)
        graph = CompiledGraph(spec, models=models, cost_model=cm, retriever=state["retriever"])
        start = time.perf_counter()
        try:
            res = graph.run(item.query, seed=seed)
        except BudgetExceeded as e:  # as the local path records it: a wrong answer, not a crash
            return {"error": str(e), "seconds": round(time.perf_counter() - start, 3)}
        return {"answer": res.answer, "usage": res.usage.to_dict(), "seconds": round(res.seconds, 3)}


def evaluation_job(evaluator: Any) -> GraphRuns:
    """The job for ``evaluator`` (a :class:`~ponder.graphs.optimizer.evaluate.TaskEvaluator`),
    made once so the runner keeps its workers across evaluations."""
    job = getattr(evaluator, "_runner_job", None)
    if job is None:
        job = GraphRuns(evaluator.space.cost_model, dict(evaluator.models), _retriever_factory(evaluator.task))
        evaluator._runner_job = job
    return job


def run_graph_items(runner: Runner, evaluator: Any, spec: Any, todo: Sequence[Any]) -> dict[str, dict]:
    """Run ``spec`` on the uncached items ``todo`` on ``runner``; each record is scored and put
    in the evaluator's cache here, in the driver, as its unit finishes. Returns the records
    by item id, marked ``new``. Seeds follow the local path (the i-th uncached item gets
    ``seed + i`` with seed 0), so a deterministic model gives the same records."""
    key = spec.key()
    records: dict[str, dict] = {}

    def on_row(unit: tuple, row: dict) -> None:
        _, item, _ = unit
        if "answer" in row:
            rec = {"correct": float(evaluator.task.score(item, row["answer"])), "answer": row["answer"],
                   "usage": row.get("usage") or {}, "seconds": row.get("seconds", 0.0)}
            evaluator.usage.add(rec["usage"])
        else:  # a budget stop, or a unit that failed on every attempt
            rec = {"correct": 0.0, "answer": "", "error": str(row.get("error")), "usage": {}}
        evaluator.cache.put(key, item.id, rec)
        records[item.id] = {**rec, "new": True}

    units = [(spec, it, i) for i, it in enumerate(todo)]
    runner.map(evaluation_job(evaluator), units, key=lambda u: u[1].id, on_row=on_row)
    return records
