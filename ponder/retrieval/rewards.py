"""InForage-style information-foraging signals ("Scent of Knowledge", 2025) for retrieval loops.

- :func:`coverage_curve`: the share of gold evidence found after each step (needs gold labels;
  for evaluation).
- :func:`information_gain`: a gold-free estimate of how much new, relevant evidence one step
  added to the note: the share of the refined note's content words that are new *and* backed by
  the step's new passages, scaled by how related those passages are to the question.
- :func:`decayed` / :func:`trajectory_reward`: a step-decay efficiency factor (0.95 per step),
  so evidence found early is worth more than the same evidence found late.
- :class:`GainStop`: the cheap stop rule that replaces the LLM note judge: accept a refined
  note while its decayed gain stays above a threshold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

DECAY = 0.95
#: Shared content words at which a passage counts as fully related to the question and note.
RELATED_WORDS = 3

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be but by for from if in into is it its no not of on or such that the their then there "
    "these they this to was were will with what which who whom when where why how did does do has have had been "
    "he she his her him also about after before than more most other some only new notes note passage passages "
    "question answer information".split()
)


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text without stopwords and one-letter tokens."""
    return {w for w in (m.lower() for m in _WORD.findall(text or "")) if len(w) > 1 and w not in _STOP}


def coverage_curve(gold: Iterable[str], steps: Sequence[Iterable[str]]) -> list[float]:
    """Cumulative share of ``gold`` items (supporting titles or doc ids) seen after each step."""
    gold_set = {g for g in gold}
    if not gold_set:
        return [0.0 for _ in steps]
    seen: set[str] = set()
    curve = []
    for found in steps:
        seen |= gold_set & set(found)
        curve.append(len(seen) / len(gold_set))
    return curve


def _passage_text(p: Any) -> str:
    chunk = getattr(p, "chunk", p)
    if isinstance(chunk, dict):
        return f"{chunk.get('title', '')} {chunk.get('text', '')}"
    if isinstance(chunk, str):
        return chunk
    return f"{chunk.title} {chunk.text}"


def information_gain(question: str, old_note: str, new_note: str, new_passages: Sequence[Any]) -> float:
    """A gold-free estimate in [0, 1] of the relevant information a step added.

    ``novel`` = content words of the new note that were not in the old note and that occur in
    the step's new passages (so added by reading them, not invented); ``gain`` = ``novel`` over
    the new note's content words, times the relatedness of the new passages: how many content
    words the best new passage shares with the question *or the old note* (a bridge passage
    of a multi-hop question names the entity the note found, not the question's words), a
    third per shared word up to 1.
    """
    new_words = content_words(new_note)
    if not new_words or not new_passages:
        return 0.0
    passage_words = [content_words(_passage_text(p)) for p in new_passages]
    evidence = set().union(*passage_words)
    novel = (new_words - content_words(old_note)) & evidence
    if not novel:
        return 0.0
    context = content_words(question) | content_words(old_note)
    related = max((min(1.0, len(context & w) / RELATED_WORDS) for w in passage_words), default=0.0)
    return round(min(1.0, len(novel) / len(new_words)) * related, 4)


def decayed(gains: Sequence[float], decay: float = DECAY) -> list[float]:
    """Each step's gain times ``decay ** step`` (step 0 undiscounted)."""
    return [g * decay**i for i, g in enumerate(gains)]


def trajectory_reward(gains: Sequence[float], decay: float = DECAY) -> float:
    """The efficiency-weighted total of a trajectory's gains."""
    return float(sum(decayed(gains, decay)))


@dataclass(frozen=True)
class GainStop:
    """Accept a refined note while ``gain * decay ** step >= threshold``.

    Args:
        threshold: the least decayed gain worth keeping (0.1: a tenth of the note is new,
            evidence-backed and on topic).
        decay: the per-step efficiency factor.
    """

    threshold: float = 0.1
    decay: float = DECAY

    def accepts(self, gain: float, step: int) -> bool:
        return gain * self.decay**step >= self.threshold
