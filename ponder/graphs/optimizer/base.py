"""The ask/tell interface every optimizer implements, and the history they share.

``ask()`` returns the configs to evaluate next; ``tell(evaluations)`` feeds back their
evaluations in the same order. The driver (:mod:`ponder.graphs.optimizer.run`) owns the loop, the
evaluation budget and the state file, so every method gets exactly the same evaluations.
"""

from __future__ import annotations

from collections import defaultdict

from ponder.graphs.optimizer.evaluate import Evaluation
from ponder.graphs.optimizer.space import Config, Space, config_key


class History:
    """Every evaluation so far, with per-config means (a config may be evaluated again)."""

    def __init__(self):
        self.evaluations: list[Evaluation] = []
        self._scores: dict[str, list[float]] = defaultdict(list)
        self._full: dict[str, list[float]] = defaultdict(list)
        self.configs: dict[str, Config] = {}
        self.costs: dict[str, float] = {}

    def add(self, ev: Evaluation, *, full: bool = True) -> None:
        self.evaluations.append(ev)
        key = config_key(ev.config)
        self.configs[key] = ev.config
        self.costs[key] = ev.cost
        self._scores[key].append(ev.score)
        if full:
            self._full[key].append(ev.score)

    def seen(self, config: Config) -> bool:
        return config_key(config) in self.configs

    def mean(self, config: Config) -> float | None:
        s = self._scores.get(config_key(config))
        return sum(s) / len(s) if s else None

    def ranked(self, *, full_only: bool = True) -> list[tuple[float, Config]]:
        """Configs by mean score, best first (by default only those evaluated on a full minibatch);
        ties go to the cheaper graph."""
        source = self._full if full_only and self._full else self._scores
        rows = [(sum(v) / len(v), self.costs.get(k, 0.0), self.configs[k]) for k, v in source.items() if v]
        rows.sort(key=lambda r: (-r[0], r[1]))
        return [(score, config) for score, _, config in rows]

    def best(self) -> tuple[float, Config] | None:
        ranked = self.ranked()
        return ranked[0] if ranked else None


class Method:
    """Base class: subclasses implement :meth:`ask` and may extend :meth:`tell`."""

    name = "method"

    def __init__(self, space: Space, *, seed: int = 0):
        self.space = space
        self.seed = seed
        self.history = History()
        self.minibatch = 0  # set by the driver: items in a full evaluation

    def ask(self) -> list[Config]:
        raise NotImplementedError

    def tell(self, evaluations: list[Evaluation]) -> None:
        for ev in evaluations:
            self.history.add(ev, full=not self.minibatch or ev.items >= self.minibatch)

    def report(self) -> dict:
        """Method-specific figures for the result file (probability table, fallbacks...)."""
        return {}
