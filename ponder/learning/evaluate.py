"""Evaluate learned parts on held-out MiniWoB++ episodes only.

:func:`evaluate_miniwob` is ``ponder eval miniwob`` (same runner, same rows, so ``ponder report
--paired greedy`` compares it with any earlier run), whose runner refuses any episode that the
learned value (``value="learned:DIR"``) or a cloned actor (``model="hf:DIR"`` with an
``actor.json``) was trained on: a :class:`~ponder.errors.ConfigError` names the ones that were.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["evaluate_miniwob"]


def evaluate_miniwob(
    out: str | Path,
    *,
    tasks: Sequence[str],
    first_seed: int = 0,
    episodes: int = 3,
    strategy: str = "best-first",
    model: Any = None,
    config: Any = None,
    workers: int = 1,
    label: str | None = None,
    show_progress: bool = True,
) -> list[dict]:
    """Run ``strategy`` on ``episodes`` seeds (from ``first_seed``) of each task into ``out``
    (resumable), refusing any episode a learned part was trained on. ``config.seed`` is set to
    ``first_seed`` (as ``ponder eval miniwob --seed``), so rows pair with earlier runs."""
    from dataclasses import replace

    from ponder.evals.web import run_miniwob_eval
    from ponder.graphs.web_agent import WebAgentConfig

    config = replace(config or WebAgentConfig(), seed=first_seed)
    return run_miniwob_eval(tasks=",".join(tasks), strategy=strategy, model=model, config=config, workers=workers,
                            out=out, episodes=episodes, label=label, show_progress=show_progress)
