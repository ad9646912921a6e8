"""The solver roles of a collaboration graph: ``generate`` (answer a question) and ``refine``
(read earlier answers, write a corrected one), and the task formats they share.

Small models answer in sentences, so every prompt asks for the bare answer, shows one worked
example of the format, and the reply is parsed leniently per task kind (the last number for
arithmetic, the option letter for multiple choice, a short span otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ponder.models.base import Message
from ponder.text import extract_short_answer

KINDS = ("math", "choice", "open")

SYSTEM = "You answer questions. Reply with only the final answer, no explanation."

_INSTRUCTION = {
    "math": "Answer with a number only.",
    "choice": "Answer with the letter of the correct option only.",
    "open": "Answer with a few words only.",
}

_EXAMPLE = {
    "math": ("Sam has 4 apples and buys 3 more. How many apples does Sam have?", "7"),
    "choice": ("Which of these is a colour?\nA) table\nB) blue\nC) seven\nD) river", "B"),
    "open": ("What is the capital of France?", "Paris"),
}


@dataclass(frozen=True)
class Query:
    """One question for a graph: its text, kind (math, choice, open), options for multiple
    choice, and optional context passages (from a retrieval stage)."""

    text: str
    kind: str = "open"
    choices: tuple[str, ...] = ()
    context: tuple[str, ...] = field(default=(), compare=False)

    def render(self) -> str:
        body = self.text.strip()
        if self.choices:
            body += "\n" + "\n".join(f"{chr(65 + i)}) {c}" for i, c in enumerate(self.choices))
        if self.context:
            passages = "\n".join(f"- {p.strip()[:400]}" for p in self.context)
            body = f"Context:\n{passages}\n\nQuestion: {body}"
        return body

    def instruction(self) -> str:
        return _INSTRUCTION.get(self.kind, _INSTRUCTION["open"])


def example(kind: str) -> list[Message]:
    q, a = _EXAMPLE.get(kind, _EXAMPLE["open"])
    return [{"role": "user", "content": f"{q}\n{_INSTRUCTION.get(kind, _INSTRUCTION['open'])}"},
            {"role": "assistant", "content": a}]


def generate_messages(query: Query, hints: list[str] | None = None) -> list[Message]:
    """The prompt of a ``generate`` node; ``hints`` are predecessor answers, if any."""
    user = f"{query.render()}\n"
    if hints:
        user += "Other people answered: " + "; ".join(h for h in hints if h) + ".\n"
    user += query.instruction()
    return [{"role": "system", "content": SYSTEM}, *example(query.kind), {"role": "user", "content": user}]


def refine_messages(query: Query, candidates: list[str]) -> list[Message]:
    """The prompt of a ``refine`` node: check earlier answers and give the correct one."""
    listed = "\n".join(f"{i + 1}. {c}" for i, c in enumerate(candidates)) or "(none)"
    user = (f"{query.render()}\nProposed answers:\n{listed}\n"
            f"Check them and give the correct answer. {query.instruction()}")
    return [{"role": "system", "content": SYSTEM}, *example(query.kind), {"role": "user", "content": user}]


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_answer(query: Query, text: str) -> str:
    """The answer in a reply, normalised per kind ('' when none can be found)."""
    text = (text or "").strip()
    if not text:
        return ""
    if query.kind == "math":
        nums = _NUMBER.findall(text.split("\n")[0]) or _NUMBER.findall(text)
        if not nums:
            return ""
        value = nums[0].replace(",", "")
        return value[:-2] if value.endswith(".0") else value
    if query.kind == "choice":
        letters = "ABCDEFGH"[: max(1, len(query.choices))]
        m = re.search(rf"\b([{letters}])\b(?:\)|\.|:|$|\s)", text) or re.match(rf"^\(?([{letters}])\)?", text)
        if m:
            return m.group(1)
        low = text.lower()
        for i, choice in enumerate(query.choices):  # the option's text instead of its letter
            if choice.lower() in low:
                return chr(65 + i)
        return ""
    return extract_short_answer(text)


def query_messages(query: Query) -> list[Message]:
    """The prompt of a ``retrieve`` node: a short search query for the question."""
    return [
        {"role": "system", "content": "You write search queries. Reply with only the query."},
        {"role": "user", "content": "Question: Which country is the birthplace of the author of Hamlet?\nSearch query:"},
        {"role": "assistant", "content": "author of Hamlet birthplace"},
        {"role": "user", "content": f"Question: {query.text.strip()}\nSearch query:"},
    ]
