"""Small text helpers shared by every capability: answer normalisation (SQuAD-style), short
answer extraction from a chatty model, and voting."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.I)
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


_MARKUP = re.compile(r"^(?:#+|[-*>]|\d+[.)])\s+")
_LEADS = re.compile(
    r"^(?:the\s+)?(?:final\s+)?(?:short\s+)?answer(?:\s+is)?\s*[:\-]?\s*|^(?:it|this|that)\s+is\s+", re.I
)


def extract_short_answer(text: str) -> str:
    """The answer part of a model's reply: the text after an ``Answer:`` label when there is
    one, else the first line, without a trailing period or a leading "The answer is"."""
    found = re.findall(r"answer\s*(?:is)?\s*[:=]\s*(.+)", text, re.I)
    candidate = found[-1] if found else (text.strip().splitlines() or [""])[0]
    # small models echo Markdown from the passages: "# Dijon: # Dijon: # Eiffel Tower" -> "Dijon"
    candidate = re.split(r"\s#+\s", _MARKUP.sub("", candidate.strip()))[0]
    candidate = _LEADS.sub("", candidate.strip()).strip()
    return candidate.strip(" \"'*`").rstrip(".:").strip()


def majority_vote(answers: Sequence[str], weights: Iterable[float] | None = None) -> tuple[str, dict[str, float]]:
    """The (optionally weighted) most common answer after normalisation, and the tally.
    Ties go to the answer seen first. Empty answers do not vote."""
    tally: Counter[str] = Counter()
    first_form: dict[str, str] = {}
    for answer, weight in zip(answers, weights if weights is not None else [1.0] * len(answers)):
        # "A" (a multiple-choice letter) normalises to "" under SQuAD rules: fall back to its text.
        key = normalize_answer(answer) or answer.strip().lower()
        if not key:
            continue
        first_form.setdefault(key, answer)
        tally[key] += weight
    if not tally:
        return "", {}
    best = max(tally, key=lambda k: (tally[k], -list(first_form).index(k)))
    return first_form[best], {first_form[k]: v for k, v in tally.most_common()}
