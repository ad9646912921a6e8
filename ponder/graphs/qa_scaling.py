"""QA methods that turn more test-time compute into better answers with a small model, each with a
compute knob (its *level*):

- ``vote`` (``samples``: 1, 3, 5): one top-k retrieval; the greedy answer plus ``samples - 1``
  sampled ones (temperature 0.7); the answer is chosen by :func:`~ponder.graphs.qa_signals.vote`
  (consensus by token F1, grounded answers weighted up).
- ``vote-orders`` (``orders``: 1, 2, 3): the same retrieval, greedy answers over ``orders``
  orderings of the passages (a small model reads the first passages most), voted alike. All
  orderings go to the model as one batched call.
- ``notes`` (``rounds``: 1, 2, 3): retrieval rounds (the first with the question, later ones with
  the question plus the previous answer, as Iter-RetGen) that keep an *extractive* note, the
  sentences most related to the question and the note so far
  (:func:`~ponder.graphs.qa_signals.select_sentences`); each round answers from the first
  round's top passages together with the note, and the rounds' answers are voted.
  ``note="generated"`` writes the note with the note-taker agent instead (Adaptive-Note's notes).
- ``forage`` (``gain_threshold``: 0.2, 0.1, 0.05, lower spends more; at most ``rounds`` = 3):
  ``notes`` with a test-time stop rule from the information-foraging signals: after each round,
  another one is taken only while the answer is not settled (not grounded, or it changed from the
  previous round) and the round's decayed information gain or the question coverage says more
  evidence is still arriving or missing.

Every method answers through :mod:`ponder.agents.answerer`'s prompt; every call and retrieval is
charged to the question's :class:`~ponder.usage.Usage`; when a budget runs out after the first
answer, the method stops and answers from what it has (the first call itself must fit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ponder.agents import answerer, note_taker
from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_signals import (
    Candidate,
    f1_between,
    grounded,
    note_text,
    question_coverage,
    select_sentences,
    vote,
)
from ponder.retrieval.index import Hit
from ponder.retrieval.rewards import DECAY, information_gain
from ponder.text import normalize_answer
from ponder.usage import Usage

#: Sampling temperature of the extra samples of ``vote``.
TEMPERATURE = 0.7
#: Weight of an answer that does not occur in the passages (a grounded one weighs 1).
UNGROUNDED_WEIGHT = 0.25
#: Passages of the first retrieval shown beside the note (``notes``, ``forage``).
TOP_EVIDENCE = 2
#: Sentences kept in an extractive note.
NOTE_SENTENCES = 4


@dataclass(frozen=True)
class Level:
    """The compute knob of a method and the levels measured."""

    setting: str
    levels: tuple[int, ...]


#: Each scaling method's compute knob and its measured levels.
LEVELS: dict[str, Level] = {
    "vote": Level("samples", (1, 3, 5)),
    "vote-orders": Level("orders", (1, 2, 3)),
    "notes": Level("rounds", (1, 2, 3)),
    "forage": Level("gain_threshold", (0.2, 0.1, 0.05)),
}


#: A retrieval that charges the question's ledger: ``search(query, k) -> hits``.
Search = Callable[[str, int], list[Hit]]


@dataclass
class Scaled:
    """What a scaling method returns (:func:`ponder.graphs.qa_methods.answer_question` wraps it in
    a ``QAResult``): the voted answer and its reply, every hit retrieved (duplicates included), the
    notes, the step log, why it stopped, and ``extra`` (agreement, grounding, candidates, the
    allocator's decisions)."""

    answer: str
    raw: str
    evidence: list[Hit]
    notes: list[str]
    steps: list[dict]
    stop: str = ""
    best_note: str = ""
    extra: dict = field(default_factory=dict)


def candidate(reply: str, source: str, passages: Sequence[Any], tokens: int = 0) -> Candidate:
    """A candidate from one model reply (parsed to a short answer, grounded against ``passages``)."""
    short = answerer.parse(reply)
    return Candidate(short, reply, source, grounded(short, passages), tokens)


def greedy_answers(llm, question: str, contexts: Sequence[Sequence[Any]], usage: Usage, sources: Sequence[str],
                   grounding: Sequence[Any]) -> list[Candidate]:
    """One greedy answer per context (a list of passages), all in one batched call."""
    batch = [answerer.messages(question, passages=ctx) for ctx in contexts]
    out = llm.generate_batch(batch, max_tokens=answerer.MAX_TOKENS, temperature=0.0, stop=["\n\n"], usage=usage)
    return [candidate(row[0].text, src, grounding, row[0].prompt_tokens + row[0].completion_tokens)
            for row, src in zip(out, sources)]


def sampled_answers(llm, question: str, passages: Sequence[Any], n: int, usage: Usage,
                    temperature: float = TEMPERATURE) -> list[Candidate]:
    """``n`` sampled answers from one context (one call with ``n`` samples)."""
    out = llm.generate(answerer.messages(question, passages=passages), n=n, temperature=temperature,
                       max_tokens=answerer.MAX_TOKENS, stop=["\n\n"], usage=usage)
    return [candidate(c.text, f"sample {i + 1}", passages, c.prompt_tokens + c.completion_tokens) for i, c in enumerate(out)]


def orderings(hits: Sequence[Any], count: int) -> list[list[Any]]:
    """``count`` distinct orderings of ``hits``: as retrieved, reversed, then rotations (each
    passage leads once before any leads twice)."""
    hits = list(hits)
    out: list[list[Any]] = [hits]
    if count > 1 and len(hits) > 1:
        out.append(hits[::-1])
    shift = 1
    while len(out) < count and shift < len(hits):
        rotated = hits[shift:] + hits[:shift]
        if rotated not in out:
            out.append(rotated)
        shift += 1
    return out[:count] if len(hits) > 1 else [hits] * min(count, 1)


def _result(cands: list[Candidate], evidence: list[Hit], steps: list[dict], *, stop: str = "", notes: Sequence[str] = (),
            ungrounded_weight: float = UNGROUNDED_WEIGHT) -> Scaled:
    chosen = vote(cands, ungrounded_weight=ungrounded_weight)
    winner = chosen.winner
    steps.append({"node": "vote", **chosen.to_dict(), "candidates": [c.to_dict() for c in cands]})
    result = Scaled(winner.answer if winner else "", winner.raw if winner else "", list(evidence), list(notes), steps,
                    stop=stop, best_note=notes[-1] if notes else "")
    result.extra.update(agreement=round(chosen.agreement, 4), grounded=bool(winner and winner.grounded),
                        candidates=len(cands), votes=[c.to_dict() for c in cands])
    rounds = [{k: v for k, v in s.items() if k != "node"} for s in steps if s.get("node") == "round"]
    if rounds:  # the per-round signals the foraging stop rule reads
        result.extra["rounds"] = rounds
    return result


def run_vote(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, samples: int = 4,
             temperature: float = TEMPERATURE, ungrounded_weight: float = UNGROUNDED_WEIGHT):
    """Self-consistency over samples (see the module docstring)."""
    if samples < 1:
        raise ConfigError(f"samples must be >= 1, got {samples}")
    hits = search(question, top_k)
    steps: list[dict] = [{"node": "retrieve", "query": question, "docs": [h.chunk.title for h in hits]}]
    cands = greedy_answers(llm, question, [hits], usage, ["greedy"], hits)
    stop = ""
    if samples > 1:
        try:
            cands += sampled_answers(llm, question, hits, samples - 1, usage, temperature)
        except BudgetExceeded as e:
            stop = f"budget ({e.field})"
    return _result(cands, hits, steps, stop=stop, ungrounded_weight=ungrounded_weight)


def run_orders(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, orders: int = 3,
               ungrounded_weight: float = UNGROUNDED_WEIGHT):
    """Self-consistency over evidence orderings (see the module docstring)."""
    if orders < 1:
        raise ConfigError(f"orders must be >= 1, got {orders}")
    hits = search(question, top_k)
    steps: list[dict] = [{"node": "retrieve", "query": question, "docs": [h.chunk.title for h in hits]}]
    contexts = orderings(hits, orders)
    cands = greedy_answers(llm, question, contexts[:1], usage, ["order 1"], hits)
    stop = ""
    if len(contexts) > 1:
        try:
            cands += greedy_answers(llm, question, contexts[1:], usage, [f"order {i}" for i in range(2, len(contexts) + 1)], hits)
        except BudgetExceeded as e:
            stop = f"budget ({e.field})"
    return _result(cands, hits, steps, stop=stop, ungrounded_weight=ungrounded_weight)


class NoteLoop:
    """The state of the ``notes`` / ``forage`` loop: evidence, the note, the rounds' answers.

    One :meth:`step` is a retrieval round: retrieve, update the note, answer from the first
    round's top passages plus the note; it returns the round's log entry with its signals.
    """

    def __init__(self, question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, note: str = "extractive",
                 keep: int = NOTE_SENTENCES, top_evidence: int = TOP_EVIDENCE, orders: int = 1):
        if note not in ("extractive", "generated"):
            raise ConfigError(f"unknown note kind {note!r}", hint="extractive or generated")
        self.question, self.llm, self.usage = question, llm, usage
        self.search = search
        self.top_k, self.kind, self.keep, self.top_evidence = top_k, note, keep, top_evidence
        self.evidence: list[Hit] = []
        self.top: list[Hit] = []
        self.sentences: list[tuple[str, str]] = []
        self.note = ""
        self.notes: list[str] = []
        self.cands: list[Candidate] = []  # one per round: the next round's query carries its answer
        self.others: list[Candidate] = []  # the rounds' answers over other orderings (orders > 1)
        self.orders = orders
        self.steps: list[dict] = []

    def context(self) -> list[Any]:
        """The answer's passages: the top evidence, then the note (sentences of other passages,
        or the generated note as one passage)."""
        shown = list(self.top[: self.top_evidence])
        titles = {h.chunk.title for h in shown}
        if self.kind == "extractive":
            extra = [{"title": t, "text": s} for t, s in self.sentences if t not in titles]
        else:
            extra = [{"title": "Notes", "text": self.note}] if self.note else []
        return shown + extra

    def seed(self, hits: Sequence[Hit], first: Candidate, query: str) -> None:
        """Start from a first round done elsewhere (the allocator's cheap first answer)."""
        self.evidence, self.top = list(hits), list(hits)
        if self.kind == "extractive":
            self.sentences = select_sentences(self.question, [], hits, keep=self.keep)
            self.note = note_text(self.sentences)
            self.notes.append(self.note)
        self.cands.append(first)
        self.steps.append({"node": "round", "round": 1, "query": query, "docs": [h.chunk.title for h in hits],
                           "answer": first.answer, "grounded": first.grounded})

    def step(self) -> dict:
        r = len(self.steps) + 1
        last = self.cands[-1].raw.strip() if self.cands else ""
        query = self.question if r == 1 or not last else f"{self.question} {last}"
        hits = self.search(query, self.top_k)
        seen = {h.chunk.chunk_id for h in self.evidence}
        new = [h for h in hits if h.chunk.chunk_id not in seen]
        self.evidence.extend(hits)
        if r == 1:
            self.top = list(hits)
        old_note = self.note
        if self.kind == "extractive":
            self.sentences = select_sentences(self.question, self.sentences, new, keep=self.keep)
            self.note = note_text(self.sentences)
        elif not self.note:
            self.note = note_taker.init_note(self.llm, self.question, hits, usage=self.usage)
        elif new:
            self.note = note_taker.refine_note(self.llm, self.question, self.note, new, usage=self.usage)
        self.notes.append(self.note)
        context = self.context()
        # the round's answer, and (orders > 1) answers over other orderings of the same context, in one call
        contexts = orderings(context, self.orders)
        sources = [f"round {r}"] + [f"round {r} order {i}" for i in range(2, len(contexts) + 1)]
        cand, *others = greedy_answers(self.llm, self.question, contexts, self.usage, sources, self.evidence)
        previous = self.cands[-1] if self.cands else None
        self.cands.append(cand)
        self.others.extend(others)
        entry = {
            "node": "round", "round": r, "query": query, "docs": [h.chunk.title for h in hits],
            "new_docs": [h.chunk.title for h in new], "answer": cand.answer, "grounded": cand.grounded,
            "gain": information_gain(self.question, old_note, self.note, new),
            "coverage": round(question_coverage(self.question, context), 4),
            "same": bool(previous and normalize_answer(cand.answer) and f1_between(previous.answer, cand.answer) >= 0.5),
        }
        self.steps.append(entry)
        return entry


def run_notes(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, rounds: int = 2, note: str = "extractive",
              keep: int = NOTE_SENTENCES, top_evidence: int = TOP_EVIDENCE, orders: int = 1,
              ungrounded_weight: float = UNGROUNDED_WEIGHT):
    """Extractive (or generated) notes beside the top evidence over ``rounds`` rounds; with
    ``orders`` > 1 each round also answers over other orderings of its context, all voted."""
    if rounds < 1 or orders < 1:
        raise ConfigError(f"rounds and orders must be >= 1, got {rounds} and {orders}")
    loop = NoteLoop(question, search, llm, usage, top_k=top_k, note=note, keep=keep, top_evidence=top_evidence,
                    orders=orders)
    loop.step()
    stop = ""
    for _ in range(rounds - 1):
        try:
            loop.step()
        except BudgetExceeded as e:
            stop = f"budget ({e.field})"
            break
    return _result(loop.cands + loop.others, loop.evidence, loop.steps, stop=stop, notes=loop.notes,
                   ungrounded_weight=ungrounded_weight)


def settled(entry: dict, round_: int, *, gain_threshold: float, coverage_min: float, decay: float = DECAY) -> str:
    """Why the foraging loop stops after this round ('' to go on): the answer is grounded and
    the same as the previous round's; or the round's decayed gain fell below ``gain_threshold``
    while the question is covered (more of the same evidence would not change the answer)."""
    if entry["grounded"] and entry["same"]:
        return "settled (same grounded answer twice)"
    if round_ > 1 and entry["gain"] * decay ** (round_ - 1) < gain_threshold and entry["coverage"] >= coverage_min:
        return "no gain (question covered)"
    return ""


def run_forage(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, rounds: int = 3, note: str = "extractive",
               gain_threshold: float = 0.05, coverage_min: float = 0.6, keep: int = NOTE_SENTENCES,
               top_evidence: int = TOP_EVIDENCE, ungrounded_weight: float = UNGROUNDED_WEIGHT):
    """``notes`` that stops when the foraging signals say another round is not worth it."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    loop = NoteLoop(question, search, llm, usage, top_k=top_k, note=note, keep=keep, top_evidence=top_evidence)
    loop.step()
    stop = f"rounds ({rounds})"
    for r in range(2, rounds + 1):
        try:
            entry = loop.step()
        except BudgetExceeded as e:
            stop = f"budget ({e.field})"
            break
        why = settled(entry, r, gain_threshold=gain_threshold, coverage_min=coverage_min)
        if why:
            stop = why
            break
    return _result(loop.cands, loop.evidence, loop.steps, stop=stop, notes=loop.notes,
                   ungrounded_weight=ungrounded_weight)


#: The scaling methods by name (the allocator ``auto`` and the dispatch are in :mod:`ponder.graphs.qa_allocator`).
RUNNERS: dict[str, Callable[..., Any]] = {"vote": run_vote, "vote-orders": run_orders, "notes": run_notes,
                                          "forage": run_forage}
