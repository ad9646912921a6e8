"""Task sets the optimizer evaluates graphs on: the seeded synthetic set (arithmetic word
problems and multiple-choice facts) and HotpotQA as a two-stage retrieve-then-answer task."""

from __future__ import annotations

from ponder.errors import ConfigError


def load_task(name: str, *, minibatch: int, test: int = 0, seed: int = 0):
    """``synthetic[:N]`` or ``hotpotqa[:N]`` -> (task, optimisation items, held-out items)."""
    base, _, count = name.partition(":")
    try:
        n = int(count) if count else minibatch + test
    except ValueError:
        raise ConfigError(f"--tasks {name!r}: the part after ':' must be an item count") from None
    if n < minibatch + test:
        raise ConfigError(f"--tasks {name!r} has {n} items but --minibatch {minibatch} + --test {test} need {minibatch + test}")
    if base == "synthetic":
        from ponder.graphs.optimizer.tasks.synthetic import SyntheticTask

        task = SyntheticTask(n, seed=seed)
    elif base == "hotpotqa":
        from ponder.graphs.optimizer.tasks.hotpotqa import HotpotQATask

        task = HotpotQATask(n, seed=seed)
    else:
        raise ConfigError(f"unknown task set {base!r}", hint="synthetic[:N] or hotpotqa[:N]")
    return task, task.items[:minibatch], task.items[minibatch:minibatch + test]
