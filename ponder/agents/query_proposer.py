"""The query-proposer role of Adaptive-Note: ask for information the note still lacks, avoiding
queries already asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ponder.agents.qa_common import first_line
from ponder.models.base import ChatModel, Message
from ponder.text import normalize_answer
from ponder.usage import Usage

SYSTEM = "You write search queries. Reply with one short search query only."
MAX_TOKENS = 24

_EXAMPLE = [
    {"role": "user", "content": "Question: In which city was the father of Ada Lovelace born?\n"
                                "Notes: Ada Lovelace's father was Lord Byron.\n"
                                "Queries already asked: Ada Lovelace father\n"
                                "Write one new search query for the missing information."},
    {"role": "assistant", "content": "Lord Byron birthplace"},
]


def messages(question: str, note: str, asked: Sequence[str]) -> list[Message]:
    user = (f"Question: {question}\nNotes: {note or '(none)'}\n"
            f"Queries already asked: {'; '.join(asked) if asked else '(none)'}\n"
            f"Write one new search query for the missing information.")
    return [{"role": "system", "content": SYSTEM}, *_EXAMPLE, {"role": "user", "content": user}]


def is_new(query: str, asked: Sequence[str]) -> bool:
    key = normalize_answer(query)
    return bool(key) and all(normalize_answer(a) != key for a in asked)


_WORD = re.compile(r"[A-Z][\w'\-]+(?:\s+[A-Z][\w'\-]+)*")


def fallback_query(question: str, note: str, asked: Sequence[str]) -> str:
    """A query built without the model when its proposal repeats an earlier one: names in the
    note that the question does not mention (the bridge entities of a multi-hop question)."""
    names = [n for n in _WORD.findall(note or "") if n.lower() not in question.lower()]
    for name in dict.fromkeys(names):
        if is_new(name, asked):
            return name
    return ""


def propose(model: ChatModel, question: str, note: str, asked: Sequence[str], *, usage: Usage | None = None) -> str:
    """One new query ('' when neither the model nor the fallback finds one that is new)."""
    reply = model.generate(messages(question, note, asked), max_tokens=MAX_TOKENS, stop=["\n"], usage=usage)[0].text
    query = first_line(reply)[:200]
    if is_new(query, asked) and normalize_answer(query) != normalize_answer(question):
        return query
    return fallback_query(question, note, asked)
