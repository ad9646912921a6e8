"""Successive halving on minibatches: evaluate every candidate on a few items, keep the better
half, give the survivors more items, until one (or ``keep``) remain on the full minibatch. Weak
graphs are dropped after a handful of questions instead of a whole minibatch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ponder.graphs.optimizer.space import Config


def successive_halving(configs: Sequence[Config], evaluate: Callable[[Config, int], object], *, items: int,
                       min_items: int = 2, eta: int = 2, keep: int = 1) -> list:
    """Return the last evaluation of every config (survivors evaluated on ``items`` items).

    ``evaluate(config, n)`` evaluates a config on the first ``n`` items of the minibatch and
    returns an object with a ``score`` attribute (a cache makes the prefix re-use free).
    """
    alive = list(range(len(configs)))
    last: dict[int, object] = {}
    if len(configs) <= keep:
        return [evaluate(c, items) for c in configs]
    rounds = max(1, math.ceil(math.log(len(configs) / keep, eta)))
    n = max(min_items, items // eta**rounds)
    while True:
        n = min(n, items)
        for i in alive:
            last[i] = evaluate(configs[i], n)
        if n >= items or len(alive) <= keep:
            break
        alive.sort(key=lambda i: -last[i].score)  # type: ignore[attr-defined]
        alive = alive[: max(keep, len(alive) // eta)]
        n *= eta
    return [last[i] for i in range(len(configs))]
