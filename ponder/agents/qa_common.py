"""Shared pieces of the retrieval-QA roles: how passages are shown to a small model, and lenient
parsing of short replies."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

#: Characters of one passage shown in a prompt (HotpotQA passages are ~600 characters).
PASSAGE_CHARS = 700


def render_passages(hits: Iterable[Any], *, limit: int = PASSAGE_CHARS, start: int = 1) -> str:
    """``[1] Title: text`` lines for hits (objects with ``.chunk`` or dicts with title/text)."""
    lines = []
    for i, hit in enumerate(hits, start):
        chunk = getattr(hit, "chunk", hit)
        title = chunk["title"] if isinstance(chunk, dict) else chunk.title
        text = chunk["text"] if isinstance(chunk, dict) else chunk.text
        text = " ".join(text.split())
        if len(text) > limit:
            text = text[:limit].rsplit(" ", 1)[0] + " ..."
        lines.append(f"[{i}] {title}: {text}" if title else f"[{i}] {text}")
    return "\n".join(lines) or "(no passages)"


_LABEL = re.compile(r"^\s*(?:notes?|query|search query|new query|answer)\s*[:\-]\s*", re.I)


def first_line(text: str) -> str:
    """The first non-empty line of a reply, without a leading ``Query:``-style label or quotes."""
    for line in (text or "").splitlines():
        line = _LABEL.sub("", line).strip().strip("\"'`*").strip()
        if line:
            return line
    return ""


def clip_sentences(text: str, max_sentences: int, max_chars: int = 600) -> str:
    """At most ``max_sentences`` sentences (and ``max_chars``) of a reply, whole sentences only
    where possible; repeated sentences (a small model looping) are dropped."""
    text = " ".join((text or "").split())
    parts = re.split(r"(?<=[.!?])\s+", text)
    kept: list[str] = []
    for part in parts:
        if part and part not in kept:
            kept.append(part)
        if len(kept) >= max_sentences:
            break
    out = " ".join(kept)
    if len(out) > max_chars:
        out = out[:max_chars].rsplit(" ", 1)[0]
    return out.strip()


def dedupe(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = " ".join(item.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out
