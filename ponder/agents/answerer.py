"""The answerer role: a short answer to a question from passages, a note, or nothing.

Small models answer in sentences, so the prompt asks for the bare answer, shows one worked
example, stops at the first line, and :func:`ponder.text.extract_short_answer` trims the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ponder.agents.qa_common import render_passages
from ponder.models.base import ChatModel, Message
from ponder.text import extract_short_answer
from ponder.usage import Usage

SYSTEM = ("You answer questions. Reply with only the answer: a name, a number, a date, yes or no, "
          "or a few words. No explanation.")

_EXAMPLE_CONTEXT = ("[1] Ada Lovelace: Ada Lovelace was an English mathematician, the daughter of the poet Lord Byron.\n"
                    "[2] Lord Byron: George Gordon Byron was born in London in 1788.")
_EXAMPLE_QUESTION = "In which city was the father of Ada Lovelace born?"
_EXAMPLE_ANSWER = "London"

MAX_TOKENS = 24


@dataclass(frozen=True)
class Answer:
    """A short answer and the model's full reply."""

    text: str
    raw: str


def messages(question: str, *, passages: Sequence[Any] = (), note: str | None = None) -> list[Message]:
    """The prompt: context (passages or a note, or none), then the question."""
    if note is not None:
        example_ctx = "Notes: Ada Lovelace's father was Lord Byron. Lord Byron was born in London."
        context = f"Notes: {note.strip() or '(none)'}"
    elif passages:
        example_ctx, context = f"Passages:\n{_EXAMPLE_CONTEXT}", f"Passages:\n{render_passages(passages)}"
    else:
        example_ctx, context = "", ""
    def user(ctx: str, q: str) -> str:
        return f"{ctx}\n\nQuestion: {q}\nAnswer in a few words." if ctx else f"Question: {q}\nAnswer in a few words."
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user(example_ctx, _EXAMPLE_QUESTION)},
        {"role": "assistant", "content": _EXAMPLE_ANSWER},
        {"role": "user", "content": user(context, question)},
    ]


def answer(model: ChatModel, question: str, *, passages: Sequence[Any] = (), note: str | None = None,
           usage: Usage | None = None, max_tokens: int = MAX_TOKENS) -> Answer:
    """Ask ``model`` for a short answer (greedy, one line)."""
    reply = model.generate(messages(question, passages=passages, note=note), max_tokens=max_tokens,
                           temperature=0.0, stop=["\n\n"], usage=usage)[0].text
    return Answer(parse(reply), reply)


_YES_NO = re.compile(r"^\W*(yes|no)\b", re.I)


def parse(reply: str) -> str:
    """The short answer in a reply ('' when empty): ``yes``/``no`` when the reply starts with
    one (comparison questions), else :func:`ponder.text.extract_short_answer`."""
    m = _YES_NO.match(reply or "")
    if m:
        return m.group(1).lower()
    return extract_short_answer(reply or "")
