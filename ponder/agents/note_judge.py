"""The note-judge role of Adaptive-Note: does the refined note hold more useful information for
the question than the best note so far?

Small models pick a position, not a note (SmolLM2-135M answers "A" whatever the notes say), so
the judge reads the pair in both orders in one batched call and trusts only a verdict that holds
in both; a verdict that flips with the order is reported as ``"split"``.

:func:`graded_verdict` reads the judge's probabilities instead of its letters: the preference for
the new note is P(new) averaged over both orders (from the alternatives of the reply's first
letter, ``logprobs=k``), so a constant lean towards one position cancels out (P(A) = 0.9 in both
orders gives 0.5, no preference) while a lean towards a note's content survives."""

from __future__ import annotations

import re
from typing import Literal

from ponder.models.base import ChatModel, Message, class_mass
from ponder.usage import Usage

SYSTEM = "You compare two notes written to answer a question. Reply with A or B only."
MAX_TOKENS = 4
Verdict = Literal["new", "old", "split"]


def messages(question: str, a: str, b: str) -> list[Message]:
    user = (f"Question: {question}\n\nNotes A: {a or '(none)'}\n\nNotes B: {b or '(none)'}\n\n"
            f"Which notes contain more facts that help answer the question? Reply with A or B.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse(reply: str) -> bool | None:
    """True when the reply prefers B, False for A, None when unclear."""
    m = re.search(r"\b(?:notes?\s+)?([AB])\b", reply or "")
    if not m:
        return None
    return m.group(1) == "B"


def _same(old: str, new: str) -> bool:
    return " ".join(new.split()) == " ".join(old.split())


def verdict(model: ChatModel, question: str, old: str, new: str, *, usage: Usage | None = None) -> Verdict:
    """``"new"`` or ``"old"`` when the judge prefers that note with the new one shown second and
    shown first; ``"split"`` when the two orders disagree or a reply is unclear. An identical note
    is ``"old"`` without asking."""
    if _same(old, new):
        return "old"
    replies = model.generate_batch([messages(question, old, new), messages(question, new, old)],
                                   max_tokens=MAX_TOKENS, stop=["\n"], usage=usage)
    return _letters(replies[0][0].text, replies[1][0].text)


def _letters(new_second: str, new_first: str) -> Verdict:
    """The verdict from the two replies' letters (the new note shown second, then first)."""
    second_is_new, first_is_new = parse(new_second), parse(new_first)
    if first_is_new is None or second_is_new is None:
        return "split"
    prefers_new = (second_is_new, not first_is_new)
    if all(prefers_new):
        return "new"
    if not any(prefers_new):
        return "old"
    return "split"


#: Alternatives read at the reply's first letter by :func:`graded_verdict`.
TOP_LOGPROBS = 10


def _p_b(completion) -> float | None:
    """P(B) / (P(A) + P(B)) at the first position whose alternatives name a letter."""
    for t in completion.logprobs or []:
        mass = class_mass(t, lambda token: token.strip().upper() if token.strip().upper() in ("A", "B") else None)
        if mass:
            return mass.get("B", 0.0) / sum(mass.values())
    return None


def graded_verdict(model: ChatModel, question: str, old: str, new: str, *, usage: Usage | None = None,
                   margin: float = 0.1) -> tuple[Verdict, float | None]:
    """The verdict and the preference for the new note (P(new) averaged over both orders):
    ``"new"`` at ``0.5 + margin`` or more, ``"old"`` at ``0.5 - margin`` or less, ``"split"``
    between. When a reply offers no letter, the letters decide as in :func:`verdict`."""
    if _same(old, new):
        return "old", 0.0
    replies = model.generate_batch([messages(question, old, new), messages(question, new, old)],
                                   max_tokens=MAX_TOKENS, stop=["\n"], logprobs=TOP_LOGPROBS, usage=usage)
    second, first = _p_b(replies[0][0]), _p_b(replies[1][0])  # P(B) with the new note second / first
    if second is None or first is None:
        return _letters(replies[0][0].text, replies[1][0].text), None
    preference = (second + (1.0 - first)) / 2
    if preference >= 0.5 + margin:
        return "new", round(preference, 4)
    if preference <= 0.5 - margin:
        return "old", round(preference, 4)
    return "split", round(preference, 4)
