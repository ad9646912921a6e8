"""Baselines with the same evaluation budget: random search and TPE (optuna)."""

from __future__ import annotations

import random

from ponder.errors import missing_extra
from ponder.graphs.optimizer.base import Method
from ponder.graphs.optimizer.evaluate import Evaluation
from ponder.graphs.optimizer.space import Config, Space


class RandomSearch(Method):
    """Uniform samples from the space (factor by factor), rejecting graphs over the budget and
    graphs already evaluated."""

    name = "random"

    def __init__(self, space: Space, *, seed: int = 0, tries: int = 2000):
        super().__init__(space, seed=seed)
        self.rng = random.Random(seed)
        self.tries = tries

    def ask(self) -> list[Config]:
        fallback = None
        for _ in range(self.tries):
            c = self.space.complete({}, self.rng)
            if self.space.within_budget(c):
                if not self.history.seen(c):
                    return [c]
                fallback = fallback or c
        if fallback is None:
            self.space.check_budget()
            fallback = self.space.cheapest()
        return [fallback]


class TPESearch(Method):
    """Optuna's TPE sampler over the same factors (define-by-run, so inactive factors are not
    suggested). A graph over the budget is told a score of 0 without an evaluation, which is
    what a constrained black-box search knows about it. Multivariate grouped TPE by default
    (on the bench surface independent TPE needed more evaluations)."""

    name = "tpe"

    def __init__(self, space: Space, *, seed: int = 0, startup: int = 10, tries: int = 200, multivariate: bool = True):
        super().__init__(space, seed=seed)
        try:
            import optuna
        except ImportError as e:
            raise missing_extra("optuna", "optimize") from e
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # multivariate/group are marked experimental
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=multivariate,
                                                 group=multivariate)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self.tries = tries
        self._pending: list = []
        self.rejected = 0

    def _suggest(self, trial) -> Config:
        config: Config = {}
        for f in self.space.factors:
            if f.active(config):
                config[f.name] = trial.suggest_categorical(f.name, list(f.choices))
        return config

    def ask(self) -> list[Config]:
        for _ in range(self.tries):
            trial = self.study.ask()
            config = self._suggest(trial)
            if self.space.within_budget(config):
                self._pending.append(trial)
                return [config]
            self.rejected += 1
            self.study.tell(trial, 0.0)
        self.space.check_budget()
        trial = self.study.ask()
        self._pending.append(trial)
        return [self._suggest(trial)]

    def tell(self, evaluations: list[Evaluation]) -> None:
        super().tell(evaluations)
        for ev in evaluations:
            trial = self._pending.pop(0)
            self.study.tell(trial, ev.score)

    def report(self) -> dict:
        return {"rejected_over_budget": self.rejected}
