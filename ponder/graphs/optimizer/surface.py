"""A seeded response surface over graphs with a known optimum, for benchmarking optimizers.

Real evaluations are slow and noisy, so optimizers are compared on a surface that has the
shape "Generalizing Test-time Compute-optimal Scaling as an Optimizable Graph" reports for real
tasks (documented in ``docs/optimizer.md``):

1. **Task-specific model preference.** Each task ranks the pool differently (``QUALITY``), and at
   a fixed budget the best single model is not always the biggest: on ``facts`` the cheap model
   wins because the budget buys it more width.
2. **Width has an optimum.** Parallel samples help up to a point, then hurt (aggregating many
   weak answers dilutes the right one): a Gaussian bump in width around ``w*``.
3. **Depth has an optimum.** Refinement helps up to ``d*`` then errors compound: a bump in depth.
4. **They interact.** The best width shrinks as depth grows: ``w*(d) = w0 - kappa * (d - 1)``.
5. **Noise.** An evaluation is the accuracy on a minibatch of ``items`` questions: a binomial
   draw around the true score, as a real minibatch is.

Extras that make the space realistic without moving the optimum: mixing models inside a graph
costs a little coherence (a penalty on heterogeneity, so the optimum is homogeneous and can be
found by enumeration), refiners that read every answer of the previous layer refine better
(edge density), and an LLM aggregator (``fuse``) beats a vote on one task and loses on the other.
Costs come from the same :class:`~ponder.graphs.cost.CostModel` the real optimizer uses, and a
graph over the budget cannot be chosen.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from ponder.graphs.cost import CostModel
from ponder.graphs.optimizer.space import Config, LayeredGraphSpace

#: the surface's model pool: name -> parameters (cost ratio 1 : 2 : 6)
POOL = {"small": 100_000_000, "medium": 200_000_000, "large": 600_000_000}

#: single-call accuracy per task and model
QUALITY = {
    "math": {"small": 0.25, "medium": 0.45, "large": 0.52},
    "facts": {"small": 0.50, "medium": 0.44, "large": 0.55},
}


@dataclass(frozen=True)
class SurfaceTask:
    """One task's surface parameters (see the module docstring)."""

    name: str
    budget: float
    w0: float  # best width at depth 1
    d_star: float  # best depth
    kappa: float = 1.0  # how much the best width shrinks per extra layer
    sigma_w: float = 1.2
    sigma_d: float = 0.8
    gain: float = 0.6  # how much a well-shaped graph multiplies single-call accuracy
    hetero_penalty: float = 0.1
    edge_gain: float = 0.15
    fuse_factor: float = 1.0  # multiplier when the aggregator is an LLM fuse call


TASKS = {
    "math": SurfaceTask("math", budget=16.0, w0=4.0, d_star=2.0, fuse_factor=0.95),
    "facts": SurfaceTask("facts", budget=8.0, w0=5.0, d_star=1.0, fuse_factor=1.04),
}


def make_space(task: SurfaceTask, *, max_width: int = 5, max_depth: int = 3, granularity: str = "layer") -> LayeredGraphSpace:
    """The layered space the surface is defined on (priced by the real cost model)."""
    cm = CostModel(parameters=POOL, base_prompt_tokens=80, unit_max_tokens=16, pool=tuple(POOL))
    return LayeredGraphSpace(tuple(POOL), task.budget, max_width=max_width, max_depth=max_depth,
                             cost_model=cm, max_tokens=16, granularity=granularity)


class Surface:
    """True scores and noisy minibatch evaluations of configs for one task."""

    def __init__(self, task: SurfaceTask | str, *, items: int = 32, seed: int = 0, **space_options):
        self.task = TASKS[task] if isinstance(task, str) else task
        self.space = make_space(self.task, **space_options)
        self.items = items
        self.rng = random.Random(seed)
        self.evaluations = 0
        self._optimum: tuple[float, Config] | None = None

    def true_score(self, config: Config) -> float:
        t = self.task
        s = self.space.summary(config)
        w, d = s["width"], s["depth"]
        counts = s["models"]
        nodes = sum(counts.values())
        quality = sum(QUALITY[t.name][m] * k for m, k in counts.items()) / nodes
        quality -= t.hetero_penalty * (1 - max(counts.values()) / nodes)
        w_star = t.w0 - t.kappa * (d - 1)
        shape = math.exp(-((w - w_star) ** 2) / (2 * t.sigma_w**2)) * math.exp(-((d - t.d_star) ** 2) / (2 * t.sigma_d**2))
        score = quality * (1 + t.gain * shape)
        if s["edge_density"] is not None and d > 1:
            score *= 1 - t.edge_gain * (1 - s["edge_density"])
        if s["agg"] == "fuse":
            score *= t.fuse_factor
        return max(0.0, min(0.98, score))

    def evaluate(self, config: Config) -> float:
        """A noisy accuracy on a fresh minibatch (binomial around the true score)."""
        self.evaluations += 1
        p = self.true_score(config)
        return sum(self.rng.random() < p for _ in range(self.items)) / self.items

    def optimum(self) -> tuple[float, Config]:
        """The best score within the budget and a config reaching it, by enumeration over
        homogeneous graphs (the heterogeneity penalty keeps mixed graphs below them; the
        tests check this by search)."""
        if self._optimum is None:
            best: tuple[float, Config] | None = None
            sp = self.space
            for model, w, d, agg, edges in itertools.product(sp.pool, range(1, sp.max_width + 1), range(1, sp.max_depth + 1),
                                                              ("vote", "fuse"), ("full", "column")):
                c = sp.homogeneous(model, w, d, agg=agg, edges=edges)
                if not sp.within_budget(c):
                    continue
                score = self.true_score(c)
                if best is None or score > best[0] + 1e-12:
                    best = (score, c)
            assert best is not None
            self._optimum = best
        return self._optimum

    def is_optimal(self, config: Config, tol: float = 1e-6) -> bool:
        return self.true_score(config) >= self.optimum()[0] - tol
