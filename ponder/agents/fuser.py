"""The ``fuse``/``final`` role: an LLM aggregator that reads every candidate answer (with how
many times each was given) and writes one final answer."""

from __future__ import annotations

from collections import Counter

from ponder.agents.solver import SYSTEM, Query, example
from ponder.models.base import Message
from ponder.text import normalize_answer


def fuse_messages(query: Query, candidates: list[str]) -> list[Message]:
    """The aggregator's prompt: the distinct candidates with their counts, most common first."""
    counts = Counter(normalize_answer(c) for c in candidates if c)
    shown: dict[str, str] = {}
    for c in candidates:
        if c and normalize_answer(c) not in shown:
            shown[normalize_answer(c)] = c
    lines = [f"- {shown[k]} (given {v} time{'s' if v != 1 else ''})" for k, v in counts.most_common()]
    user = (f"{query.render()}\nCandidate answers:\n" + ("\n".join(lines) or "- (none)") +
            f"\nPick the correct final answer. {query.instruction()}")
    return [{"role": "system", "content": SYSTEM}, *example(query.kind), {"role": "user", "content": user}]
