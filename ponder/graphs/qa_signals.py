"""Gold-free signals that let a QA method decide, at test time, what more compute would buy.

- :func:`grounded`: whether a short answer occurs in the retrieved passages (a small model's
  answers that occur nowhere in its evidence are mostly invented);
- :func:`vote`: minimum-Bayes-risk selection among candidate answers with token F1 as the
  utility, each candidate weighted by whether it is grounded; returns the winner and the share
  of the weighted vote that agrees with it (the *agreement*, 1.0 when every sample says the same);
- :func:`question_coverage`: the share of the question's content words that the evidence
  mentions (low: the retrieval has not found what the question is about yet);
- :func:`select_sentences`: extractive notes: the passage sentences most related to the question
  and to the note so far (a bridge sentence of a multi-hop question names the entity the note
  found, not the question's words).

Pure text functions: no model, no index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ponder.retrieval.metrics import f1_score
from ponder.retrieval.rewards import content_words
from ponder.text import normalize_answer

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_YES_NO = frozenset({"yes", "no"})


def passage_text(hit: Any) -> str:
    """``title text`` of a hit, a chunk, a ``{title, text}`` dict or a string."""
    chunk = getattr(hit, "chunk", hit)
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, dict):
        return f"{chunk.get('title', '')} {chunk.get('text', '')}"
    return f"{chunk.title} {chunk.text}"


def passage_title(hit: Any) -> str:
    """The title of a hit, a chunk or a ``{title, text}`` dict ('' for a string)."""
    chunk = getattr(hit, "chunk", hit)
    return chunk.get("title", "") if isinstance(chunk, dict) else getattr(chunk, "title", "")


def grounded(answer: str, passages: Iterable[Any]) -> bool:
    """Whether the normalised ``answer`` occurs (as whole words) in the normalised passages.
    ``yes``/``no`` count as grounded: a comparison's answer cannot be found in the text."""
    key = normalize_answer(answer or "")
    if not key:
        return False
    if key in _YES_NO:
        return True
    text = " " + " ".join(normalize_answer(passage_text(p)) for p in passages) + " "
    return f" {key} " in text


@dataclass(frozen=True)
class Candidate:
    """One answer proposed by one model call: the short answer, the full reply, where it came
    from (``greedy``, ``sample``, ``order 2``, ``round 1`` ...) and whether it is grounded."""

    answer: str
    raw: str
    source: str
    grounded: bool
    tokens: int = 0  # prompt + completion tokens of this candidate's share of its call

    def to_dict(self) -> dict:
        # the raw reply too: answer-in-output accuracy of any voting rule can be recomputed offline
        return {"answer": self.answer, "raw": self.raw, "source": self.source, "grounded": self.grounded,
                "tokens": self.tokens}


@dataclass(frozen=True)
class Vote:
    """The outcome of :func:`vote`: the winning candidate, its agreement (the weighted share of
    the candidates' F1 mass that agrees with it, in [0, 1]) and the number of distinct answers."""

    winner: Candidate | None
    agreement: float
    distinct: int

    def to_dict(self) -> dict:
        return {"answer": self.winner.answer if self.winner else "", "agreement": round(self.agreement, 4),
                "distinct": self.distinct, "grounded": bool(self.winner and self.winner.grounded)}


def vote(candidates: Sequence[Candidate], *, ungrounded_weight: float = 0.25) -> Vote:
    """The candidate with the highest expected F1 against all the others (minimum Bayes risk,
    which for a short-answer metric picks the consensus rather than the longest answer), each
    candidate's vote weighted 1 when grounded and ``ungrounded_weight`` when not. Ties go to
    the earlier candidate (the greedy answer comes first). Empty answers do not vote."""
    cands = [c for c in candidates if normalize_answer(c.answer)]
    if not cands:
        return Vote(candidates[0] if candidates else None, 0.0, 0)
    weights = [1.0 if c.grounded else ungrounded_weight for c in cands]
    total = sum(weights)
    best, best_score = cands[0], -1.0
    for c in cands:
        score = sum(w * f1_score(c.answer, [o.answer]) for o, w in zip(cands, weights))
        if score > best_score + 1e-12:
            best, best_score = c, score
    distinct = len({normalize_answer(c.answer) for c in cands})
    return Vote(best, best_score / total if total else 0.0, distinct)


def question_coverage(question: str, passages: Iterable[Any]) -> float:
    """The share of the question's content words that occur in the passages (1.0 for a
    question without content words)."""
    wanted = content_words(question)
    if not wanted:
        return 1.0
    seen: set[str] = set()
    for p in passages:
        seen |= content_words(passage_text(p))
    return len(wanted & seen) / len(wanted)


def split_sentences(hit: Any) -> list[tuple[str, str]]:
    """``(title, sentence)`` pairs of a passage."""
    chunk = getattr(hit, "chunk", hit)
    title = passage_title(chunk)
    text = chunk.get("text", "") if isinstance(chunk, dict) else getattr(chunk, "text", str(chunk))
    text = " ".join(text.split())
    return [(title, s) for s in _SENTENCE.split(text) if s.strip()]


def select_sentences(question: str, note: Sequence[tuple[str, str]], hits: Sequence[Any], *, keep: int = 4,
                     bridge_weight: float = 0.5) -> list[tuple[str, str]]:
    """The extractive note after reading ``hits``: the ``keep`` best sentences of the old note
    and the new passages, scored by content words shared with the question (the passage title
    counts as part of each of its sentences, since "He was born in ..." names its subject only
    in the title) plus ``bridge_weight`` per word shared with the old note's *other* sentences;
    ties keep the earlier sentence. Returned best first, without duplicates."""
    q_words = content_words(question)
    pool: list[tuple[str, str]] = list(note)
    for hit in hits:
        for pair in split_sentences(hit):
            if pair not in pool:
                pool.append(pair)
    note_words = [content_words(f"{t} {s}") for t, s in note]

    def score(i: int, pair: tuple[str, str]) -> float:
        words = content_words(f"{pair[0]} {pair[1]}")
        bridge: set[str] = set()
        for j, nw in enumerate(note_words):
            if j != i:
                bridge |= nw
        return len(words & q_words) + bridge_weight * len((words & bridge) - q_words)

    ranked = sorted(range(len(pool)), key=lambda i: (-score(i, pool[i]), i))
    return [pool[i] for i in ranked[:keep]]


def note_text(note: Sequence[tuple[str, str]]) -> str:
    """An extractive note as plain text (``Title: sentence`` joined)."""
    return " ".join(f"{t}: {s}" if t else s for t, s in note)


def f1_between(a: str, b: str) -> float:
    """Token F1 of two answers (the agreement of two rounds' answers)."""
    return f1_score(a, [b])
