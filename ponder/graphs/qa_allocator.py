"""``auto``: compute allocated per question (Snell et al., 2024: spend test-time compute where the
question needs it rather than uniformly).

The allocator starts cheap and escalates only while the answer is uncertain. With ``first="span"``
(the default since the fifth session, chosen on the first 50 HotpotQA questions) it is the ladder
of :func:`run_auto_span`: the evidence alone, then scoring candidate spans over a focused reading,
the whole passages, the reply. The older ladders, ``first="notes"`` and ``first="single"``:

1. ``first``: ``notes`` (one round of the ``notes`` method, the top two passages plus an
   extractive note, cheaper than ``single`` and better on the first 50) or ``single`` (one
   top-k retrieval, one greedy answer). Stop when the answer is grounded in the passages, short
   (``max_words``: an answer, not a sentence about the question) and the passages cover the
   question's content words (``coverage_min``).
2. ``order 2`` ... ``order k``: up to ``extra_orders`` more greedy answers over other orderings
   of the same context (the notes round's passages and note, or the top-k passages), one at a
   time, each voted with all before. Stop when the vote agrees (``agree_min``) on a grounded
   answer. Orderings matter to a small model: the answer tends to come from the first passage.
3. ``round``: up to ``max_rounds`` further retrieval rounds with the extractive note (the
   question plus the current answer as the query; the note beside the top passages), each
   answer voted with all before; stop as soon as the vote agrees on a grounded answer.

A ``budget`` (tokens, calls, retrievals per question) is respected: before each stage the
allocator estimates its worst-case tokens (the prompts plus ``max_tokens`` per answer) and skips it
when it would not fit; the model's own budget check (worst case, before every call) backs this
up, so the ledger never passes a limit. Every decision is logged (``steps`` entries with
``node="allocate"``, and ``extra["decisions"]``), with the signals it was made on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ponder.agents import answerer
from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_extract import PASSAGES, SpanSearch, margin_json, run_span
from ponder.graphs.qa_scaling import (
    RUNNERS,
    UNGROUNDED_WEIGHT,
    NoteLoop,
    Scaled,
    Search,
    _result,
    greedy_answers,
    orderings,
)
from ponder.graphs.qa_signals import Vote, question_coverage, vote
from ponder.graphs.qa_spans import question_kind
from ponder.usage import Usage

#: Thresholds of the allocator, chosen on the first 50 HotpotQA questions (docs/RESULTS.md).
FIRST = "span"
EXTRA_ORDERS = 2
MAX_ROUNDS = 2
AGREE_MIN = 0.6
COVERAGE_MIN = 0.6
MAX_WORDS = 6
#: The ``span`` ladder (``first="span"``, :func:`run_auto_span`), chosen on the first 50 HotpotQA
#: questions (docs/RESULTS.md): one link, typed candidates, thresholds of its stages.
SPAN_LINKS = 1
SPAN_TYPES = True
SUPPORT_GAP = 0.1
SPAN_SENTENCES = 1
MARGIN_MIN = 0.0


def _estimate(llm, question: str, contexts: Sequence[Sequence[Any]], slack: float = 1.0) -> int:
    """Tokens of one greedy answer per context: the prompts (times ``slack``) plus ``max_tokens`` each."""
    return sum(int(llm.count_tokens(answerer.messages(question, passages=c)) * slack) + answerer.MAX_TOKENS
               for c in contexts)


def _fits(usage: Usage, tokens: int, calls: int = 1, retrievals: int = 0) -> str:
    """'' when a stage of this size fits the budget left, else the limit it would pass."""
    for name, need in (("tokens", tokens), ("calls", calls), ("retrievals", retrievals)):
        left = usage.remaining(name)
        if left is not None and need > left:
            return name
    return ""


def run_auto(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, first: str = FIRST,
             extra_orders: int = EXTRA_ORDERS, max_rounds: int = MAX_ROUNDS, agree_min: float = AGREE_MIN,
             coverage_min: float = COVERAGE_MIN, max_words: int = MAX_WORDS,
             ungrounded_weight: float = UNGROUNDED_WEIGHT, links: int = SPAN_LINKS, types: bool = SPAN_TYPES,
             support_gap: float = SUPPORT_GAP, span_sentences: int = SPAN_SENTENCES,
             margin_min: float = MARGIN_MIN) -> Scaled:
    """Answer with as little compute as the question allows (see the module docstring).

    Args:
        first: the cheap first stage: ``notes`` (one round of the ``notes`` method: the top
            passages plus an extractive note) or ``single`` (all top-k passages).
        extra_orders: the most answers over other orderings of the first stage's context.
        max_rounds: the most further retrieval rounds.
        links, types, support_gap, span_sentences, margin_min: the ``span`` ladder
            (``first="span"``, see :func:`run_auto_span`).

    Raises:
        BudgetExceeded: the budget does not allow even the first retrieval and answer.
    """
    if first == "span":
        return run_auto_span(question, search, llm, usage, top_k=top_k, links=links, types=types,
                             support_gap=support_gap, span_sentences=span_sentences, margin_min=margin_min)
    if first not in ("single", "notes"):
        raise ConfigError(f"unknown first stage {first!r}", hint="single, notes or span")
    if extra_orders < 0 or max_rounds < 0:
        raise ConfigError(f"extra_orders and max_rounds must be >= 0, got {extra_orders} and {max_rounds}")
    decisions: list[dict] = []

    def decide(stage: str, verdict: str, **signals: Any) -> None:
        decisions.append({"node": "allocate", "stage": stage, "decision": verdict,
                          **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in signals.items()}})

    def finish(cands, evidence, steps, stop, notes=()):
        result = _result(cands, evidence, steps + decisions, stop=stop, notes=notes,
                         ungrounded_weight=ungrounded_weight)
        result.extra["decisions"] = [{k: v for k, v in d.items() if k != "node"} for d in decisions]
        return result

    # stage 1: the cheapest answer
    usage.check(retrievals=1, calls=1)  # not even the first step fits: say so rather than answer blind
    loop = NoteLoop(question, search, llm, usage, top_k=top_k)
    if first == "notes":
        entry = loop.step()
        hits, cands, coverage = loop.top, [loop.cands[-1]], entry["coverage"]
    else:
        hits = search(question, top_k)
        cands = greedy_answers(llm, question, [hits], usage, ["order 1"], hits)
        coverage = question_coverage(question, hits)
    steps: list[dict] = [] if first == "notes" else [{"node": "retrieve", "query": question, "docs": [h.chunk.title for h in hits]}]
    head = cands[0]
    words = len(head.answer.split())
    confident = head.grounded and coverage >= coverage_min and 0 < words <= max_words
    decide(first, "stop" if confident else "escalate", grounded=head.grounded, coverage=coverage, words=words)
    if confident:
        return finish(cands, hits, loop.steps + steps, f"confident after {first}", notes=loop.notes)

    # stage 2: the same context in other orderings, one at a time (each puts another passage
    # first), voted with the first answer; stop as soon as the vote agrees on a grounded answer
    chosen: Vote = vote(cands, ungrounded_weight=ungrounded_weight)
    context = loop.context() if first == "notes" else hits
    grounding = loop.evidence if first == "notes" else hits
    for i, ctx in enumerate(orderings(context, 1 + extra_orders)[1:], 2):
        over = _fits(usage, _estimate(llm, question, [ctx]))
        if over:
            decide(f"order {i}", f"skip (budget: {over})")
            return finish(cands, grounding, steps + loop.steps, f"budget ({over})", notes=loop.notes)
        try:
            cands += greedy_answers(llm, question, [ctx], usage, [f"order {i}"], grounding)
        except BudgetExceeded as e:
            decide(f"order {i}", f"skip (budget: {e.field})")
            return finish(cands, grounding, steps + loop.steps, f"budget ({e.field})", notes=loop.notes)
        chosen = vote(cands, ungrounded_weight=ungrounded_weight)
        agreed = chosen.agreement >= agree_min and chosen.winner is not None and chosen.winner.grounded
        decide(f"order {i}", "stop" if agreed else "escalate", agreement=chosen.agreement, distinct=chosen.distinct,
               grounded=bool(chosen.winner and chosen.winner.grounded))
        if agreed:
            return finish(cands, grounding, steps + loop.steps, f"agreed after order {i}", notes=loop.notes)

    # stage 3: more evidence, an extractive note beside the top passages, round after round
    if first == "single":
        loop.seed(hits, chosen.winner or head, question)  # the next round's query carries the current answer
    stop = f"rounds ({max_rounds})" if max_rounds else "no rounds allowed"
    for r in range(1, max_rounds + 1):
        # the next round shows the same top passages and a note of as many sentences as now, which
        # may be longer: a quarter more than the current prompt (the model's own worst-case check
        # before the call still guards the limit)
        over = _fits(usage, _estimate(llm, question, [loop.context()], slack=1.25), retrievals=1)
        if over:
            decide(f"round {r}", f"skip (budget: {over})")
            stop = f"budget ({over})"
            break
        try:
            entry = loop.step()
        except BudgetExceeded as e:
            decide(f"round {r}", f"skip (budget: {e.field})")
            stop = f"budget ({e.field})"
            break
        cands.append(loop.cands[-1])
        chosen = vote(cands, ungrounded_weight=ungrounded_weight)
        agreed = chosen.agreement >= agree_min and chosen.winner is not None and chosen.winner.grounded
        decide(f"round {r}", "stop" if agreed else ("escalate" if r < max_rounds else "stop (last stage)"),
               agreement=chosen.agreement, grounded=bool(chosen.winner and chosen.winner.grounded),
               gain=entry["gain"], coverage=entry["coverage"])
        if agreed:
            stop = f"agreed after round {r}"
            break
    return finish(cands, loop.evidence, steps + loop.steps, stop, notes=loop.notes)


def run_auto_span(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, links: int = SPAN_LINKS,
                  types: bool = SPAN_TYPES, support_gap: float = SUPPORT_GAP, span_sentences: int = SPAN_SENTENCES,
                  margin_min: float = MARGIN_MIN) -> Scaled:
    """The ``span`` ladder: each stage is paid for only when the one before left the answer open.

    0. retrieval and ``links`` (no tokens); for an open question, stop when the best-supported
       candidate leads the second by at least ``support_gap`` (the evidence alone singles it out);
    1. score the candidates reading ``span_sentences`` sentences of each passage (0: the whole
       passages); stop when the best leads the second by at least ``margin_min``;
    2. (when stage 1 read sentences) score them again reading the whole passages; stop likewise;
    3. the greedy reply, whose span gets the reply bonus; the last stage.

    A stage is skipped when its worst case (its prompt and candidates, or the reply's prompt plus
    ``max_tokens``) does not fit the budget; every decision is logged with its signals."""
    if support_gap < 0 or margin_min < 0:
        raise ConfigError(f"support_gap and margin_min must be >= 0, got {support_gap} and {margin_min}")
    decisions: list[dict] = []
    usage.check(retrievals=1)
    state = SpanSearch(question, search, llm, usage, top_k=top_k, links=links, types=types,
                       sentences=span_sentences, greedy=False)
    pick, gap = state.supported(PASSAGES)
    open_question = question_kind(question) == "open"
    if open_question and pick is not None and gap >= support_gap:
        decisions.append({"stage": "support", "decision": "stop", "gap": margin_json(gap)})
        return _span_finish(state, "confident after support", decisions, answer=pick)
    decisions.append({"stage": "support", "decision": "escalate", "gap": margin_json(gap) if pick else None,
                      "open": open_question})
    stages = [f"score {span_sentences} sentences", "score passages"] if span_sentences else ["score passages"]
    for stage in stages:
        if stage == "score passages" and span_sentences:
            state.reread(0)
        texts = state.unscored(PASSAGES)
        need = llm.count_tokens(answerer.messages(question, passages=state.read)) + sum(llm.count_text(t) + 1 for t in texts)
        over = _fits(usage, need)
        if over:
            decisions.append({"stage": stage, "decision": f"skip (budget: {over})"})
            return _span_finish(state, f"budget ({over})", decisions)
        try:
            state.score(PASSAGES)
        except BudgetExceeded as e:
            decisions.append({"stage": stage, "decision": f"stopped (budget: {e.field})"})
            return _span_finish(state, f"budget ({e.field})", decisions)
        best, margin, scored = state.ranked()
        confident = best is not None and margin >= margin_min
        decisions.append({"stage": stage, "decision": "stop" if confident else "escalate",
                          "margin": margin_json(margin), "candidates": len(scored)})
        if confident:
            return _span_finish(state, f"confident after {stage}", decisions)
    over = _fits(usage, _estimate(llm, question, [state.read]))
    if over:
        decisions.append({"stage": "reply", "decision": f"skip (budget: {over})"})
        return _span_finish(state, f"budget ({over})", decisions)
    try:
        state.reply()
    except BudgetExceeded as e:
        decisions.append({"stage": "reply", "decision": f"stopped (budget: {e.field})"})
        return _span_finish(state, f"budget ({e.field})", decisions)
    best, margin, _ = state.ranked()
    decisions.append({"stage": "reply", "decision": "stop (last stage)", "greedy_agrees": state.agrees(best),
                      "margin": margin_json(margin)})
    return _span_finish(state, "escalated to the reply", decisions)


def _span_finish(state, stop: str, decisions: list[dict], answer: str | None = None) -> Scaled:
    """The ladder's result; with nothing scored and no reply (the budget stopped it), the
    best-supported candidate, which costs nothing."""
    if answer is None and not state.scores and not state.replies:
        answer = state.supported(PASSAGES)[0] or ""
    result = state.result(stop, [{"node": "allocate", **d} for d in decisions], answer=answer)
    result.extra["decisions"] = decisions
    return result


def run_scaling(method: str, question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, **cfg: Any) -> Scaled:
    """Run one scaling method of :mod:`ponder.graphs.qa_scaling` or ``auto`` with its settings;
    unknown settings are a :class:`~ponder.errors.ConfigError` naming them and the known ones."""
    import inspect

    runners = {**RUNNERS, "span": run_span, "auto": run_auto}
    fn = runners.get(method)
    if fn is None:
        raise ConfigError(f"unknown scaling method {method!r}", hint=f"one of {', '.join(runners)}")
    known = [p for p in inspect.signature(fn).parameters if p not in ("question", "search", "llm", "usage", "top_k")]
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise ConfigError(f"unknown {method} setting(s): {', '.join(unknown)}", hint=f"known: {', '.join(known)}")
    return fn(question, search, llm, usage, top_k=top_k, **cfg)
