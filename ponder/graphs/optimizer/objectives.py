"""What the optimizer maximises: accuracy, or accuracy with a latency or FLOPs penalty.

``acc-latency`` subtracts ``weight * latency / budget`` and ``acc-flops`` subtracts ``weight *
cost / budget``, where latency is the cost model's critical-path estimate (in units of one
smallest-model call) and cost its FLOPs estimate in units; dividing by the budget puts both on
the scale of "a whole budget's worth", so ``weight`` reads as "accuracy points given up for
spending the whole budget".
"""

from __future__ import annotations

from dataclasses import dataclass

from ponder.errors import ConfigError

KINDS = ("acc", "acc-latency", "acc-flops")


@dataclass(frozen=True)
class Objective:
    kind: str = "acc"
    weight: float = 0.1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"unknown objective {self.kind!r}", hint=f"one of: {', '.join(KINDS)}")

    def score(self, accuracy: float, *, cost: float, latency: float, budget: float) -> float:
        if self.kind == "acc":
            return accuracy
        if self.kind == "acc-latency":
            return accuracy - self.weight * latency / max(budget, 1e-9)
        return accuracy - self.weight * cost / max(budget, 1e-9)
