"""Question answering over an index with six methods under one interface (they live with the
graphs because they drive agents; :mod:`ponder.retrieval` below them only searches):

- ``none``: the model alone (no retrieval);
- ``single``: one top-k retrieval with the question, one answer;
- ``iterative``: retrieve-generate rounds (Iter-RetGen style): each round retrieves with the
  question plus the previous round's answer and answers from the new passages;
- ``adaptive-note``: the Adaptive-Note loop with the LLM note judge
  (:mod:`ponder.graphs.adaptive_note`);
- ``adaptive-note-gain``: the same loop with the gold-free information-gain stop rule instead of
  the judge;
- ``adaptive-note-graded``: the same loop with the judge's letter probabilities averaged over
  both orders of the notes (position bias cancels) instead of its letters.

Every model call and every retrieval is charged to the run's :class:`~ponder.usage.Usage`, and a
``budget`` is enforced before each spend; when the budget runs out inside a loop, the loop ends
and the answer comes from what was gathered so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ponder.agents import answerer
from ponder.errors import BudgetExceeded, ConfigError
from ponder.models.base import ChatModel
from ponder.retrieval.documents import Chunk
from ponder.retrieval.index import Hit, Index
from ponder.usage import Budget, Usage, spend

#: The name of a QA method (see the module docstring).
QAMethod = Literal["none", "single", "iterative", "adaptive-note", "adaptive-note-gain", "adaptive-note-graded",
                   "vote", "vote-orders", "notes", "forage", "span", "auto"]
#: Every QA method name, in the order above.
METHODS: tuple[QAMethod, ...] = get_args(QAMethod)
#: The test-time scaling methods and the allocator (:mod:`ponder.graphs.qa_scaling`).
SCALING: tuple[QAMethod, ...] = ("vote", "vote-orders", "notes", "forage", "span", "auto")
#: The Adaptive-Note methods and their stop rules (:class:`~ponder.graphs.adaptive_note.AdaptiveNoteConfig`).
ADAPTIVE: dict[QAMethod, str] = {"adaptive-note": "judge", "adaptive-note-gain": "gain", "adaptive-note-graded": "graded"}
#: Passages per retrieval when the caller names none: 3 for the span methods (``span``, and
#: ``auto`` with its span ladder), where reading more lowered F1 on the first 50 HotpotQA
#: questions (docs/RESULTS.md, issue 15), else 5.
TOP_K = 5
SPAN_TOP_K = 3


def default_top_k(method: str, cfg: dict[str, Any] | None = None) -> int:
    """The passages per retrieval of ``method`` (with its settings ``cfg``) when none is given."""
    from ponder.graphs.qa_allocator import FIRST

    if method == "span" or (method == "auto" and (cfg or {}).get("first", FIRST) == "span"):
        return SPAN_TOP_K
    return TOP_K


@dataclass
class QAResult:
    """The outcome of :func:`answer_question`.

    Attributes:
        answer: the short answer ('' when the budget ran out before one was written).
        evidence: every unique chunk retrieved, in the order found (best first per step).
        notes: the notes written (Adaptive-Note), in order; the last accepted one is ``best_note``.
        steps: a log, one dict per step (node, query, documents, note, seconds, ...).
        usage: the :class:`~ponder.usage.Usage` ledger of this question (``.to_dict()`` for JSON).
        raw: the model's full answer reply.
        method: the method used.
        stop: why the loop ended ('' for methods without a loop).
        best_note: the note the answer was written from (Adaptive-Note).
    """

    answer: str
    evidence: list[Hit]
    notes: list[str]
    steps: list[dict]
    usage: Usage
    raw: str = ""
    method: str = ""
    stop: str = ""
    best_note: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "answer": self.answer, "raw": self.raw, "method": self.method, "stop": self.stop,
            "best_note": self.best_note, "notes": self.notes, "steps": self.steps,
            "evidence": [h.to_dict() for h in self.evidence], "usage": self.usage.to_dict(),
            "seconds": round(self.seconds, 3),
        }


def _resolve_model(model: Any):
    if model is None or isinstance(model, str):
        from ponder.models.registry import load_model

        return load_model(model)
    return model


def _retriever(index: Any, usage: Usage):
    def search(query: str, k: int) -> list[Hit]:
        with spend(usage, retrievals=1):
            return index.search(query, k)
    return search


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for h in hits:
        if h.chunk.chunk_id not in seen:
            seen.add(h.chunk.chunk_id)
            out.append(Hit(h.chunk, h.score, len(out) + 1))
    return out


def answer_question(question: str, index: Index | None = None, *, method: QAMethod = "single", model: ChatModel | str | None = None,
                    usage: Usage | None = None, budget: Budget | None = None, top_k: int | None = None,
                    **cfg: Any) -> QAResult:
    """Answer ``question`` with ``method`` over ``index``.

    Args:
        question: the question.
        index: an :class:`~ponder.retrieval.index.Index` (unused by ``none``).
        method: one of :data:`METHODS`.
        model: a :class:`~ponder.models.base.ChatModel` or a registry name (default model).
        usage: the ledger to charge (a child scope is used when ``budget`` is also given).
        budget: limits for this question.
        top_k: passages per retrieval (default: :func:`default_top_k`, 3 for ``span`` and
            ``auto``'s span ladder, 5 for the others).
        **cfg: method settings: ``rounds`` (iterative, default 3); ``max_steps``, ``max_fails``,
            ``max_docs``, ``gain_threshold``, ``decay`` (adaptive-note*).

    Raises:
        ConfigError: an unknown method or setting, or a retrieval method without an index.
        BudgetExceeded: the budget does not allow even the first call or retrieval.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown QA method {method!r}", hint=f"one of {', '.join(METHODS)}")
    if not question or not question.strip():
        raise ConfigError("the question is empty")
    if top_k is None:
        top_k = default_top_k(method, cfg)
    if method != "none" and index is None:
        raise ConfigError(f"method {method!r} needs an index", hint="build one with `ponder qa index PATH --out DIR`")
    if usage is None:
        usage = Usage(budget, name="qa")
    elif budget is not None:
        usage = usage.scope("qa", budget)
    llm = _resolve_model(model)
    start = time.perf_counter()
    if method == "none":
        result = _none(question, llm, usage, **cfg)
    elif method == "single":
        result = _single(question, index, llm, usage, top_k=top_k, **cfg)
    elif method in SCALING:
        from ponder.graphs.qa_allocator import run_scaling

        s = run_scaling(method, question, _retriever(index, usage), llm, usage, top_k=top_k, **cfg)
        result = QAResult(s.answer, _unique(s.evidence), s.notes, s.steps, usage, raw=s.raw, stop=s.stop,
                          best_note=s.best_note, extra=s.extra)
    elif method == "iterative":
        result = _iterative(question, index, llm, usage, top_k=top_k, **cfg)
    else:
        result = _adaptive(question, index, llm, usage, top_k=top_k, stop_rule=ADAPTIVE[method], **cfg)
    result.method = method
    result.seconds = time.perf_counter() - start
    return result


def _none(question: str, llm, usage: Usage) -> QAResult:
    reply = answerer.answer(llm, question, usage=usage)
    return QAResult(reply.text, [], [], [{"node": "answer", "answer": reply.text}], usage, raw=reply.raw)


def _single(question: str, index, llm, usage: Usage, *, top_k: int) -> QAResult:
    hits = _retriever(index, usage)(question, top_k)
    reply = answerer.answer(llm, question, passages=hits, usage=usage)
    steps = [{"node": "retrieve", "query": question, "docs": [h.title for h in hits]}, {"node": "answer", "answer": reply.text}]
    return QAResult(reply.text, hits, [], steps, usage, raw=reply.raw)


def _iterative(question: str, index, llm, usage: Usage, *, top_k: int, rounds: int = 3) -> QAResult:
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    search = _retriever(index, usage)
    evidence: list[Hit] = []
    steps: list[dict] = []
    reply = answerer.Answer("", "")
    stop = ""
    for r in range(rounds):
        query = question if r == 0 or not reply.raw.strip() else f"{question} {reply.raw.strip()}"
        try:
            hits = search(query, top_k)
            evidence.extend(hits)
            reply = answerer.answer(llm, question, passages=hits, usage=usage)
        except BudgetExceeded as e:
            if r == 0:
                raise
            stop = f"budget ({e.field})"
            break
        steps.append({"node": "round", "round": r + 1, "query": query, "docs": [h.title for h in hits], "answer": reply.text})
    return QAResult(reply.text, _unique(evidence), [], steps, usage, raw=reply.raw, stop=stop)


def _adaptive(question: str, index, llm, usage: Usage, *, top_k: int, stop_rule: str, **cfg: Any) -> QAResult:
    from ponder.graphs.adaptive_note import AdaptiveNoteConfig, run_adaptive_note

    known = set(AdaptiveNoteConfig.__dataclass_fields__) - {"top_k", "stop_rule"}
    unknown = set(cfg) - known
    if unknown:
        raise ConfigError(f"unknown adaptive-note setting(s): {', '.join(sorted(unknown))}", hint=f"known: {', '.join(sorted(known))}")
    config = AdaptiveNoteConfig(top_k=top_k, stop_rule=stop_rule, **cfg)
    usage.check(retrievals=1, calls=1)  # not even the first step fits: say so rather than answer blind
    state = run_adaptive_note(question, llm, index, usage=usage, config=config, retrieve=_retriever(index, usage))
    evidence = [Hit(Chunk.from_dict(h), h["score"], i) for i, h in enumerate(state.get("evidence", []), 1)]
    notes = [e["note"] for e in state.get("log", []) if e.get("note")]
    return QAResult(state.get("answer", ""), evidence, notes, state.get("log", []), usage, raw=state.get("raw", ""),
                    stop=state.get("stop", ""), best_note=state.get("best_note", ""))
