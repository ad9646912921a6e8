"""The note-judge role of Adaptive-Note: does the refined note hold more useful information for
the question than the best note so far?

Small models pick a position, not a note (SmolLM2-135M answers "A" whatever the notes say), so
the judge reads the pair in both orders in one batched call and trusts only a verdict that holds
in both; a verdict that flips with the order is reported as ``"split"``."""

from __future__ import annotations

import re
from typing import Literal

from ponder.models.base import ChatModel, Message
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


def verdict(model: ChatModel, question: str, old: str, new: str, *, usage: Usage | None = None) -> Verdict:
    """``"new"`` or ``"old"`` when the judge prefers that note with the new one shown second and
    shown first; ``"split"`` when the two orders disagree or a reply is unclear. An identical note
    is ``"old"`` without asking."""
    if " ".join(new.split()) == " ".join(old.split()):
        return "old"
    replies = model.generate_batch([messages(question, old, new), messages(question, new, old)],
                                   max_tokens=MAX_TOKENS, stop=["\n"], usage=usage)
    second_is_new, first_is_new = parse(replies[0][0].text), parse(replies[1][0].text)
    if first_is_new is None or second_is_new is None:
        return "split"
    prefers_new = (second_is_new, not first_is_new)
    if all(prefers_new):
        return "new"
    if not any(prefers_new):
        return "old"
    return "split"
