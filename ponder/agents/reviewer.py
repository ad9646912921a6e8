"""The ``review`` role: a verifier that judges one candidate answer at a time (yes/no), so
best-of-N can pick the candidate the verifier trusts most."""

from __future__ import annotations

import re

from ponder.agents.solver import Query
from ponder.models.base import Message

SYSTEM = "You check answers. Reply with only yes or no."


def review_messages(query: Query, candidate: str) -> list[Message]:
    """Ask whether ``candidate`` answers ``query`` correctly."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Question: What is 2 + 2?\nProposed answer: 5\nIs the proposed answer correct? Reply yes or no."},
        {"role": "assistant", "content": "no"},
        {"role": "user", "content": f"Question: {query.render()}\nProposed answer: {candidate}\nIs the proposed answer correct? Reply yes or no."},
    ]


def parse_verdict(text: str) -> float:
    """1.0 for yes, 0.0 for no, 0.5 when the reply says neither."""
    m = re.search(r"\b(yes|no|correct|incorrect|right|wrong|true|false)\b", (text or "").lower())
    if not m:
        return 0.5
    return 1.0 if m.group(1) in ("yes", "correct", "right", "true") else 0.0
