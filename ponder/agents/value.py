"""The value-function interface that web search scores states with.

A value function maps a batch of states to values in [0, 1] (1: the task is done) and charges
what it spends to the run's :class:`~ponder.usage.Usage`. Implementations: the LLM judge
(:class:`~ponder.agents.value_judge.ValueJudge`) and the environment's own evaluator
(:class:`~ponder.agents.value_judge.OracleValue`, an upper bound). A learned value model plugs in
behind the same :class:`ValueFunction` protocol; nothing has to inherit from it.

This module sits in ``agents`` (not ``graphs``) so that implementations in ``agents`` can build
its records without importing the graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ponder.usage import Usage

__all__ = ["JudgeInput", "Judgement", "ValueFunction"]


@dataclass
class JudgeInput:
    """What a value function sees of one state."""

    intent: str
    observations: list[str]  # recent page texts, oldest first, the current one last
    actions: list[str]
    answer: str | None = None
    url: str = ""


@dataclass
class Judgement:
    """A state's value in [0, 1] and how it was reached (kept in traces).

    Attributes:
        value: the value, in [0, 1].
        samples: the per-sample verdicts behind it (``None``: a sample that named no status).
        source: what produced it (``judge``, ``graded``, ``oracle``, ...).
        dist: status probabilities when a graded judge read them from token probabilities.
    """

    value: float
    samples: list[float | None] = field(default_factory=list)
    source: str = "judge"
    dist: dict[str, float] | None = None

    def to_dict(self) -> dict:
        out = {"value": self.value, "samples": self.samples, "source": self.source}
        if self.dist is not None:
            out["dist"] = self.dist
        return out


@runtime_checkable
class ValueFunction(Protocol):
    """Scores states for search: one :class:`Judgement` per input, in order.

    Attributes:
        needs_env: the function reads the live environment (the oracle), so the caller scores
            one state at a time with the environment put in that state, and passes ``env``.
        model_name: the model behind the values, for traces; ``None`` when no model judges.
    """

    @property
    def needs_env(self) -> bool: ...

    @property
    def model_name(self) -> str | None: ...

    def score_many(self, items: Sequence[JudgeInput], *, seed: int | None = None, usage: Usage | None = None,
                   env: Any = None) -> list[Judgement]:
        """Values for ``items`` (batched where the implementation can), each in [0, 1]; model
        calls are charged to ``usage`` (and checked against its budget: a call that would pass
        it raises :class:`~ponder.errors.BudgetExceeded` before it is made)."""
        ...
