"""Following links: the second hop of a multi-hop question, found without the model.

A bridge question ("Who directed the film that was shot in or around Leland, North Carolina in
1986?") names its answer in a passage the question does not match: the first retrieval finds the
Leland passage, which names the film ("Maximum Overdrive"); the film's own passage names the
director. :func:`follow_links` takes the first passages' candidate spans
(:func:`~ponder.graphs.qa_spans.passage_spans`) in order of their support (the share of the
question's words in the sentence that names them, :func:`~ponder.graphs.qa_spans.span_support`),
looks each up by a retrieval with the span as the query, and keeps the passage *about* it (its
title, less a parenthetical, is the span), as a reader follows a link.

A linked passage is read with the sentence that led to it (:class:`Link.via`): the question's
words are split between the hops, so a span's support in a linked passage counts both sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_signals import passage_title
from ponder.graphs.qa_spans import (
    is_quantity,
    passage_spans,
    span_support,
    supporting_sentence,
    title_subject,
)
from ponder.text import normalize_answer

#: How many of the best-supported spans are looked up at most (each lookup is one retrieval).
MAX_PROBES = 8
#: Passages retrieved per lookup (the passage about the span is usually the first).
PROBE_K = 2


@dataclass(frozen=True)
class Link:
    """A passage reached from ``span``, named in sentence ``via`` of the first hop."""

    hit: Any
    span: str
    via: str


def follow_links(question: str, hits: Sequence[Any], search: Callable[[str, int], list[Any]], *, links: int = 1,
                 max_probes: int = MAX_PROBES, probe_k: int = PROBE_K) -> list[Link]:
    """Up to ``links`` passages about the best-supported spans of ``hits`` that are not among
    ``hits`` (see the module docstring). Neither spans named in the question (it already says
    what it knows of them) nor dates and numbers are followed. At most ``max_probes`` retrievals
    are made, fewer when the budget runs out of retrievals (the links found by then are kept)."""
    if links < 0 or max_probes < 0 or probe_k < 1:
        raise ConfigError(f"links and max_probes must be >= 0 and probe_k >= 1, got {links}, {max_probes}, {probe_k}")
    if links == 0:
        return []
    q = f" {normalize_answer(question)} "
    have = {passage_title(h) for h in hits}
    spans = [s for s in passage_spans(hits) if f" {normalize_answer(s)} " not in q and not is_quantity(s)]
    # best support first; ties keep the order of appearance (sorted is stable)
    spans.sort(key=lambda s: -span_support(question, s, hits))
    out: list[Link] = []
    for span in spans[:max_probes]:
        key = normalize_answer(span)
        try:
            probe = search(span, probe_k)
        except BudgetExceeded:  # no retrievals left: the links found so far
            break
        found = next((h for h in probe if title_subject(passage_title(h)) == key and passage_title(h) not in have), None)
        if found is not None:
            have.add(passage_title(found))
            out.append(Link(found, span, supporting_sentence(question, span, hits)[1]))
            if len(out) >= links:
                break
    return out
