"""The note-taker role of Adaptive-Note: write a first note from retrieved passages, then refine
it with new passages, keeping what helps answer the question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ponder.agents.qa_common import clip_sentences, render_passages
from ponder.models.base import ChatModel, Message
from ponder.usage import Usage

SYSTEM = ("You take short notes for answering a question. Copy the facts from the passages that help "
          "answer it: names, dates, places, numbers. Write plain sentences, no lists.")

#: Tokens a note may use, and how many sentences are kept of it.
MAX_TOKENS = 96
MAX_SENTENCES = 5


def init_messages(question: str, passages: Sequence[Any]) -> list[Message]:
    user = (f"Question: {question}\n\nPassages:\n{render_passages(passages)}\n\n"
            f"Write notes with the facts from the passages that help answer the question (at most 4 sentences).")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def refine_messages(question: str, note: str, passages: Sequence[Any]) -> list[Message]:
    user = (f"Question: {question}\n\nCurrent notes: {note or '(none)'}\n\nNew passages:\n{render_passages(passages)}\n\n"
            f"Rewrite the notes: keep the useful facts and add new facts from the new passages that help answer "
            f"the question (at most 5 sentences).")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def init_note(model: ChatModel, question: str, passages: Sequence[Any], *, usage: Usage | None = None,
              max_tokens: int = MAX_TOKENS) -> str:
    """A first note from the initial passages."""
    reply = model.generate(init_messages(question, passages), max_tokens=max_tokens, usage=usage)[0].text
    return clip_sentences(reply, MAX_SENTENCES)


def refine_note(model: ChatModel, question: str, note: str, passages: Sequence[Any], *, usage: Usage | None = None,
                max_tokens: int = MAX_TOKENS) -> str:
    """The note rewritten with new passages (the old note when the reply is empty)."""
    reply = model.generate(refine_messages(question, note, passages), max_tokens=max_tokens, usage=usage)[0].text
    return clip_sentences(reply, MAX_SENTENCES) or note
