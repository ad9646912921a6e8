"""The Adaptive-Note loop ("Retriever-and-Memory", 2024) as a LangGraph StateGraph.

    init (retrieve with the question, write the first note)
      -> check -> propose (a query unlike earlier ones) -> retrieve (query + question, drop seen
         documents) -> refine (rewrite the note with the new passages) -> judge (LLM judge, or
         the gold-free information-gain rule) -> check ...
      -> answer (from the best note)

``check`` stops at ``max_steps`` refinement steps, after ``max_fails`` rejected notes, at
``max_docs`` unique documents, or when a step finds nothing new; a budget running out mid-loop
also ends the loop and the answer comes from the best note so far. The model, index and usage
ledger live in the node closures; the state is plain JSON-ready data.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from ponder.agents import answerer, note_judge, note_taker, query_proposer
from ponder.errors import BudgetExceeded
from ponder.retrieval.rewards import DECAY, GainStop, information_gain
from ponder.usage import Usage, spend

STOP_RULES = ("judge", "graded", "gain")


@dataclass(frozen=True)
class AdaptiveNoteConfig:
    """Settings of the loop (defaults as the paper's runs).

    Attributes:
        top_k: passages per retrieval.
        max_steps: refinement steps after the first note.
        max_fails: rejected notes before stopping.
        max_docs: unique documents before stopping.
        stop_rule: ``"judge"`` (the LLM compares the notes in both orders; when its verdict flips
            with the order, the gain rule decides), ``"graded"`` (the same comparison read from
            the judge's letter probabilities averaged over both orders, which cancels position
            bias; no clear preference -> the gain rule) or ``"gain"`` (the information-gain
            estimate alone, two model calls cheaper per step).
        gain_threshold: the least decayed gain the ``gain`` rule accepts.
        decay: the per-step efficiency factor of the gain rule.
        append_question: retrieve with ``query + question`` (as the paper does).
        note_tokens: the most tokens a note may take.
        fill_new: ask the index for ``top_k`` plus the number of documents already seen, so a
            step can still bring ``top_k`` unseen documents (``False``: ``top_k`` hits minus the
            seen ones, which with the question appended are often none).
    """

    top_k: int = 5
    max_steps: int = 3
    max_fails: int = 1
    max_docs: int = 15
    stop_rule: str = "judge"
    gain_threshold: float = 0.1
    decay: float = DECAY
    append_question: bool = True
    fill_new: bool = True
    note_tokens: int = note_taker.MAX_TOKENS


class NoteState(TypedDict, total=False):
    question: str
    note: str  # the latest refined note
    best_note: str  # the note the judge (or gain rule) last accepted
    queries: list[str]
    seen_docs: list[str]
    evidence: list[dict]  # every unique retrieved chunk, Hit.to_dict() form, in order
    new_hits: list[dict]  # the current step's unseen hits
    step: int
    fails: int
    stop: str  # why the loop ended ('' while running)
    answer: str
    raw: str
    log: Annotated[list[dict], operator.add]  # one entry per node run


def build_adaptive_note_graph(model: Any, index: Any, *, usage: Usage, config: AdaptiveNoteConfig | None = None,
                              retrieve: Any = None):
    """Compile the loop for one model and index. ``retrieve(query, k) -> list[Hit]`` defaults to
    ``index.search`` charged to ``usage`` as one retrieval."""
    cfg = config or AdaptiveNoteConfig()
    if cfg.stop_rule not in STOP_RULES:
        raise ValueError(f"stop_rule must be one of {STOP_RULES}, got {cfg.stop_rule!r}")
    gain_rule = GainStop(cfg.gain_threshold, cfg.decay)

    def search(query: str, k: int):
        if retrieve is not None:
            return retrieve(query, k)
        with spend(usage, retrievals=1):
            return index.search(query, k)

    def timed(name):
        def wrap(fn):
            def node(state: NoteState) -> dict:
                start = time.perf_counter()
                try:
                    update = fn(state)
                except BudgetExceeded as e:
                    update = {"stop": f"budget ({e.field})"}
                entry = {"node": name, "seconds": round(time.perf_counter() - start, 3),
                         **{k: v for k, v in update.pop("_log", {}).items()}}
                if update.get("stop"):
                    entry["stop"] = update["stop"]
                update["log"] = [entry]
                return update
            return node
        return wrap

    @timed("init")
    def init(state: NoteState) -> dict:
        q = state["question"]
        hits = search(q, cfg.top_k)
        evidence = [h.to_dict() for h in hits]
        note = note_taker.init_note(model, q, hits, usage=usage, max_tokens=cfg.note_tokens) if hits else ""
        docs = list(dict.fromkeys(h.doc_id for h in hits))
        return {"note": note, "best_note": note, "queries": [q], "seen_docs": docs, "evidence": evidence,
                "step": 0, "fails": 0, "stop": "" if hits else "nothing retrieved",
                "_log": {"query": q, "docs": [h.title for h in hits], "note": note}}

    def check(state: NoteState) -> str:
        if state.get("stop"):
            return "answer"
        if state["step"] >= cfg.max_steps:
            return "answer"
        if state["fails"] >= cfg.max_fails:
            return "answer"
        if len(state["seen_docs"]) >= cfg.max_docs:
            return "answer"
        return "propose"

    def stop_reason(state: NoteState) -> dict:
        if state.get("stop"):
            return {}
        if state["step"] >= cfg.max_steps:
            return {"stop": "max_steps"}
        if state["fails"] >= cfg.max_fails:
            return {"stop": "max_fails"}
        if len(state["seen_docs"]) >= cfg.max_docs:
            return {"stop": "max_docs"}
        return {}

    @timed("propose")
    def propose(state: NoteState) -> dict:
        query = query_proposer.propose(model, state["question"], state["best_note"], state["queries"], usage=usage)
        if not query:
            return {"stop": "no new query", "_log": {"query": ""}}
        return {"queries": [*state["queries"], query], "_log": {"query": query}}

    @timed("retrieve")
    def retrieve_node(state: NoteState) -> dict:
        query = state["queries"][-1]
        text = f"{query} {state['question']}" if cfg.append_question else query
        seen = set(state["seen_docs"])
        hits = search(text, cfg.top_k + (len(seen) if cfg.fill_new else 0))
        room = min(cfg.top_k, cfg.max_docs - len(seen))
        new = []
        for h in hits:
            if h.doc_id not in seen and len(new) < room:
                seen.add(h.doc_id)
                new.append(h.to_dict())
        if not new:
            # nothing new to read: the step is spent and counts as a failed one
            return {"new_hits": [], "step": state["step"] + 1, "fails": state["fails"] + 1,
                    "_log": {"query": text, "new_docs": []}}
        return {"new_hits": new, "seen_docs": list(dict.fromkeys([*state["seen_docs"], *(h["doc_id"] for h in new)])),
                "evidence": [*state["evidence"], *new], "_log": {"query": text, "new_docs": [h["title"] for h in new]}}

    def after_retrieve(state: NoteState) -> str:
        return "refine" if state.get("new_hits") and not state.get("stop") else "check"

    @timed("refine")
    def refine(state: NoteState) -> dict:
        note = note_taker.refine_note(model, state["question"], state["best_note"], state["new_hits"], usage=usage,
                                      max_tokens=cfg.note_tokens)
        return {"note": note, "_log": {"note": note}}

    @timed("judge")
    def judge(state: NoteState) -> dict:
        old, new = state["best_note"], state["note"]
        gain = information_gain(state["question"], old, new, state["new_hits"])
        log: dict = {"gain": gain, "rule": cfg.stop_rule}
        if cfg.stop_rule == "gain":
            accepted = gain_rule.accepts(gain, state["step"] + 1)
        else:
            # a verdict that flips with the order of the notes is position bias: the gain rule decides
            if cfg.stop_rule == "graded":
                log["verdict"], log["preference"] = note_judge.graded_verdict(model, state["question"], old, new, usage=usage)
            else:
                log["verdict"] = note_judge.verdict(model, state["question"], old, new, usage=usage)
            accepted = log["verdict"] == "new" or (log["verdict"] == "split" and gain_rule.accepts(gain, state["step"] + 1))
        update: dict = {"step": state["step"] + 1, "_log": {"accepted": accepted, **log}}
        if accepted:
            update["best_note"] = new
        else:
            update["fails"] = state["fails"] + 1
        return update

    @timed("check")
    def check_node(state: NoteState) -> dict:
        return {**stop_reason(state), "_log": {"step": state["step"], "fails": state["fails"], "n_docs": len(state["seen_docs"])}}

    @timed("answer")
    def answer(state: NoteState) -> dict:
        result = answerer.answer(model, state["question"], note=state["best_note"], usage=usage)
        return {"answer": result.text, "raw": result.raw, "_log": {"answer": result.text}}

    graph = StateGraph(NoteState)
    graph.add_node("init", init)
    graph.add_node("check", check_node)
    graph.add_node("propose", propose)
    graph.add_node("retrieve", retrieve_node)
    graph.add_node("refine", refine)
    graph.add_node("judge", judge)
    graph.add_node("answer", answer)
    graph.add_edge(START, "init")
    graph.add_edge("init", "check")
    graph.add_conditional_edges("check", check, {"propose": "propose", "answer": "answer"})
    graph.add_conditional_edges("propose", lambda s: "answer" if s.get("stop") else "retrieve",
                                {"retrieve": "retrieve", "answer": "answer"})
    graph.add_conditional_edges("retrieve", after_retrieve, {"refine": "refine", "check": "check"})
    graph.add_edge("refine", "judge")
    graph.add_edge("judge", "check")
    graph.add_edge("answer", END)
    return graph.compile()


def run_adaptive_note(question: str, model: Any, index: Any, *, usage: Usage,
                      config: AdaptiveNoteConfig | None = None, retrieve: Any = None) -> NoteState:
    """Run the loop once and return the final state (answer, best note, evidence, log)."""
    graph = build_adaptive_note_graph(model, index, usage=usage, config=config, retrieve=retrieve)
    return graph.invoke({"question": question, "log": []}, {"recursion_limit": 100})
