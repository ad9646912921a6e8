"""The optimisation driver: one loop for every method, the evaluation budget, progress, and a
state file that makes a run resumable.

The state file (``<out>.state.json``) records the run's settings and every batch of evaluations.
On resume the method is rebuilt with the same seed and the recorded batches are replayed through
``ask``/``tell`` (asks that match the record take the recorded evaluations, so no model is
called); the run then continues where it stopped. Evaluations also sit in the graph+item cache,
so even a replay that diverges (an LLM optimizer agent answering differently) re-runs nothing
already paid for.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import ConfigError
from ponder.files import write_json_atomic
from ponder.graphs.optimizer.base import Method
from ponder.graphs.optimizer.evaluate import Evaluation
from ponder.graphs.optimizer.halving import successive_halving
from ponder.graphs.optimizer.space import Space, config_key

METHOD_NAMES = ("agent-reinforce", "reinforce", "random", "tpe")


def make_method(name: str, space: Space, *, seed: int = 0, agent=None, batch: int | None = None) -> Method:
    """Build an optimizer by name. ``agent`` is the optimizer agent for agent-reinforce (default:
    the documented feedback rule)."""
    from ponder.graphs.optimizer.agent_reinforce import AgentReinforce
    from ponder.graphs.optimizer.baselines import RandomSearch, TPESearch
    from ponder.graphs.optimizer.reinforce import Reinforce

    if name == "agent-reinforce":
        if agent is None:
            from ponder.agents.optimizer_agent import RuleOptimizerAgent

            agent = RuleOptimizerAgent(space)
        return AgentReinforce(space, agent=agent, seed=seed, **({"batch": batch} if batch else {}))
    if name == "reinforce":
        return Reinforce(space, seed=seed, **({"batch": batch} if batch else {}))
    if name == "random":
        return RandomSearch(space, seed=seed)
    if name == "tpe":
        return TPESearch(space, seed=seed)
    raise ConfigError(f"unknown method {name!r}", hint=f"one of: {', '.join(METHOD_NAMES)}")


@dataclass
class OptimizeResult:
    best: dict | None
    evaluations_used: float
    evaluations: int
    history: list[dict] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    resumed_batches: int = 0
    stopped: str = "budget"


class Driver:
    """Runs ``method`` against ``evaluator`` until ``max_evals`` full-minibatch evaluations have
    been spent (an evaluation on ``k`` of ``m`` items spends ``k/m``; cached items are free), or
    until ``patience`` steps in a row propose only graphs already evaluated (converged).

    Args:
        state_path: where the resumable state lives (None: no state).
        settings: what identifies the run; a state file with other settings is refused.
        halving: evaluate each batch of several graphs by successive halving.
    """

    def __init__(self, method: Method, evaluator, *, max_evals: float, state_path: str | Path | None = None,
                 settings: dict | None = None, halving: bool = False, progress: bool = True, min_items: int = 2,
                 patience: int = 10):
        self.method, self.evaluator = method, evaluator
        self.method.minibatch = evaluator.minibatch
        self.max_evals = float(max_evals)
        self.state_path = Path(state_path) if state_path else None
        self.settings = settings or {}
        self.halving, self.progress, self.min_items, self.patience = halving, progress, min_items, patience
        self.stopped = ""
        self.batches: list[list[dict]] = []
        self.used = 0.0

    def _spend(self, ev: Evaluation) -> float:
        new = ev.new_items if ev.new_items is not None else ev.items
        return new / max(1, self.evaluator.minibatch)

    def _load(self) -> list[list[dict]]:
        if not self.state_path or not self.state_path.exists():
            return []
        try:
            state = json.loads(self.state_path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{self.state_path}: damaged state file ({e.msg})", hint="delete it to start over") from e
        if state.get("settings") != json.loads(json.dumps(self.settings, default=str)):
            raise ConfigError(f"{self.state_path} belongs to a run with other settings",
                              hint="use the same options to resume, or delete the state file / choose another --out")
        return state.get("batches", [])

    def _save(self) -> None:
        if self.state_path:
            write_json_atomic(self.state_path, {"settings": self.settings, "batches": self.batches, "evaluations_used": self.used,
                                          "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def _evaluate_batch(self, configs) -> list[Evaluation]:
        if self.halving and len(configs) > 1:
            return successive_halving(configs, lambda c, n: self.evaluator.evaluate(c, n),
                                      items=self.evaluator.minibatch, min_items=self.min_items)
        return [self.evaluator.evaluate(c) for c in configs]

    def run(self, on_batch=None) -> OptimizeResult:
        recorded = self._load()
        replayed = 0
        leftover = None
        for batch in recorded:
            configs = self.method.ask()
            # a batch cut short by the budget at the end of the last run is a prefix of the ask
            if [config_key(c) for c in configs[:len(batch)]] != [config_key(e["config"]) for e in batch]:
                leftover = configs  # the method took another path: continue live (the cache keeps spend down)
                break
            evs = [Evaluation.from_dict(e) for e in batch]
            self.method.tell(evs)
            self.batches.append(batch)
            self.used += sum(self._spend(e) for e in evs)
            replayed += 1
        bar = None
        if self.progress:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:.1f}/{task.total:g} evals"),
                           TextColumn("{task.fields[best]}"), TimeElapsedColumn())
            bar.start()
            task = bar.add_task(self.method.name, total=self.max_evals, completed=self.used, best="")
        stalls = 0
        self.stopped = "budget"
        try:
            while self.used < self.max_evals - 1e-9:
                configs, leftover = (leftover, None) if leftover else (self.method.ask(), None)
                configs = configs[:math.floor(self.max_evals - self.used + 1e-9)]  # never past the budget
                if not configs:
                    break  # less than one full evaluation left
                evs = self._evaluate_batch(configs)
                self.method.tell(evs)
                self.batches.append([e.to_dict() for e in evs])
                spent = sum(self._spend(e) for e in evs)
                self.used += spent
                stalls = 0 if spent else stalls + 1
                if stalls >= self.patience:
                    self.stopped = f"converged: {stalls} steps proposed only graphs already evaluated"
                    break
                self._save()
                if on_batch:
                    on_batch(evs)
                if bar is not None:
                    best = self.method.history.best()
                    bar.update(task, completed=min(self.used, self.max_evals),
                               best=f"best {best[0]:.3f}" if best else "")
        finally:
            if bar is not None:
                bar.stop()
        self._save()
        best = self.method.history.best()
        best_row = None
        if best is not None:
            score, config = best
            evs = [e for e in self.method.history.evaluations if config_key(e.config) == config_key(config)]
            full = [e for e in evs if e.items >= self.evaluator.minibatch] or evs
            spec = self.method.space.to_spec(config)
            best_row = {"config": config, "graph": spec.to_dict(), "score": score,
                        "accuracy": sum(e.accuracy for e in full) / len(full), "cost": full[0].cost,
                        "latency": full[0].latency, "times_evaluated": len(evs),
                        "describe": self.method.space.describe(config) if hasattr(self.method.space, "describe") else ""}
        history = [e for b in self.batches for e in b]
        return OptimizeResult(best_row, round(self.used, 4), len(history), history, self.method.report(), replayed, self.stopped)
