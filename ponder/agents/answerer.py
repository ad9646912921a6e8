"""The answerer role: a short answer to a question from passages, a note, or nothing.

The prompt puts the context in the system message under an instruction to give only the answer
(the shape FlashRAG uses), then one worked question and answer, then the question. It was chosen
on the first 50 HotpotQA questions among five shapes with SmolLM2-135M (docs/RESULTS.md, "The
answer prompt"): the earlier one (context in the user turn, a worked example with passages, "Answer
in a few words") scored F1 0.054 / acc 0.08 there, this one 0.088 / 0.16. Small models still
answer in sentences at times, so :func:`parse` trims the reply to the answer.
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

#: The instruction every answer prompt carries (tests' scripted models match on it).
INSTRUCTION = "Only give me the answer and do not output any other words."

_EXAMPLE_QUESTION = "In which city was the father of Ada Lovelace born?"
_EXAMPLE_ANSWER = "London"

MAX_TOKENS = 24


@dataclass(frozen=True)
class Answer:
    """A short answer and the model's full reply."""

    text: str
    raw: str


def messages(question: str, *, passages: Sequence[Any] = (), note: str | None = None) -> list[Message]:
    """The prompt: the instruction and the context (passages, a note, or none), one worked
    question and answer, then the question."""
    if note is not None:
        system = f"Answer the question based on the given notes. {INSTRUCTION}\nThe notes:\n\n{note.strip() or '(none)'}"
    elif passages:
        system = (f"Answer the question based on the given document. {INSTRUCTION}\n"
                  f"The following are given documents.\n\n{render_passages(passages)}")
    else:
        system = f"Answer the question. {INSTRUCTION}"
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"Question: {_EXAMPLE_QUESTION}"},
        {"role": "assistant", "content": _EXAMPLE_ANSWER},
        {"role": "user", "content": f"Question: {question}"},
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
