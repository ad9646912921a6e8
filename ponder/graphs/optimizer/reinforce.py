"""Numeric REINFORCE over the probabilistic graph, with a moving-average baseline.

Each step samples ``batch`` graphs within the budget, and after their evaluations moves every
active factor's logits by ``lr * (score - baseline) * d log p / d logits`` (one-hot minus
softmax). The baseline is an exponential moving average of scores, so a graph only pulls the
distribution towards itself when it beats recent graphs. A sample seen before is replaced by a
fresh one when possible (an evaluation budget is better spent on new graphs); when the
distribution has collapsed onto graphs already seen, a uniform draw keeps the search moving.
"""

from __future__ import annotations

from ponder.graphs.optimizer.base import Method
from ponder.graphs.optimizer.evaluate import Evaluation
from ponder.graphs.optimizer.space import Config, ProbabilisticGraph, Space


class Reinforce(Method):
    name = "reinforce"

    def __init__(self, space: Space, *, seed: int = 0, batch: int = 4, lr: float = 1.5, beta: float = 0.8,
                 fresh_tries: int = 20):
        super().__init__(space, seed=seed)
        self.pg = ProbabilisticGraph(space, seed=seed)
        self.batch, self.lr, self.beta, self.fresh_tries = batch, lr, beta, fresh_tries
        self.baseline: float | None = None
        self.steps = 0

    def sample_fresh(self, avoid: set[str] | None = None) -> Config:
        from ponder.graphs.optimizer.space import config_key

        avoid = avoid or set()

        def fresh(c: Config) -> bool:
            return not self.history.seen(c) and config_key(c) not in avoid

        config = self.pg.sample()
        for _ in range(self.fresh_tries):
            if fresh(config):
                return config
            config = self.pg.sample()
        # the distribution has collapsed onto seen graphs: explore uniformly instead
        for _ in range(10 * self.fresh_tries):
            c = self.space.complete({}, self.pg.rng)
            if self.space.within_budget(c) and fresh(c):
                return c
        return config

    def ask(self) -> list[Config]:
        from ponder.graphs.optimizer.space import config_key

        out: list[Config] = []
        keys: set[str] = set()
        for _ in range(self.batch):
            c = self.sample_fresh(keys)
            keys.add(config_key(c))
            out.append(c)
        return out

    def reinforce_step(self, evaluations: list[Evaluation]) -> None:
        if not evaluations:
            return
        mean = sum(e.score for e in evaluations) / len(evaluations)
        if self.baseline is None:
            self.baseline = mean
        for e in evaluations:
            advantage = e.score - self.baseline
            if advantage:
                self.pg.step(self.pg.log_prob_grad(e.config), self.lr * advantage)
        self.baseline = self.beta * self.baseline + (1 - self.beta) * mean
        self.steps += 1

    def tell(self, evaluations: list[Evaluation]) -> None:
        super().tell(evaluations)
        self.reinforce_step(evaluations)

    def report(self) -> dict:
        return {"steps": self.steps, "baseline": self.baseline, "probabilities": self.pg.table()}
