"""The note-judge role of Adaptive-Note: does the refined note hold more useful information for
the question than the best note so far?"""

from __future__ import annotations

import re

from ponder.models.base import ChatModel, Message
from ponder.usage import Usage

SYSTEM = "You compare two notes written to answer a question. Reply with A or B only."
MAX_TOKENS = 4


def messages(question: str, old: str, new: str) -> list[Message]:
    user = (f"Question: {question}\n\nNotes A: {old or '(none)'}\n\nNotes B: {new or '(none)'}\n\n"
            f"Which notes contain more facts that help answer the question? Reply with A or B.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse(reply: str) -> bool | None:
    """True when the reply prefers B (the new note), False for A, None when unclear."""
    m = re.search(r"\b(?:notes?\s+)?([AB])\b", reply or "")
    if not m:
        return None
    return m.group(1) == "B"


def accepts(model: ChatModel, question: str, old: str, new: str, *, usage: Usage | None = None) -> bool:
    """Whether the judge prefers the new note. An unclear reply keeps the old note (a rejection),
    and an identical note is rejected without asking."""
    if " ".join(new.split()) == " ".join(old.split()):
        return False
    reply = model.generate(messages(question, old, new), max_tokens=MAX_TOKENS, stop=["\n"], usage=usage)[0].text
    return bool(parse(reply))
