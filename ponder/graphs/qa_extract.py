"""``span``: grounded extractive answers ranked by the model's likelihood.

A 135M model answers in sentences, so votes over its replies rarely agree and its answers are
rarely spans of the evidence. ``span`` asks the model to *choose* instead of write:

1. one top-k retrieval, and ``links`` passages followed from its best-supported spans
   (:mod:`ponder.graphs.qa_links`); the greedy reply (as ``single``) and ``samples - 1`` sampled
   replies when ``samples`` >= 1 (the default, 0, writes none: the model only scores);
2. candidates: the grounded spans the replies name (:func:`~ponder.graphs.qa_spans.snap`) and the
   candidate spans of the top ``passages`` passages (:func:`~ponder.graphs.qa_spans.passage_spans`:
   names, titles, numbers, dates); for a yes/no question ``yes`` and ``no``, for a choice
   question its two options; with ``types``, only those of the type the question asks for;
3. every candidate is scored by :meth:`~ponder.models.base.ChatModel.score` as the whole reply to
   the answer prompt with the passages, and (rules ``pmi*``) to the same prompt without them, so
   that the evidence, not the model's prior for a name, picks the answer;
4. the answer is the best candidate under ``rule`` (see :data:`RULES`; chosen on the first 50
   HotpotQA questions, docs/RESULTS.md) with a bonus of ``reply_weight`` times the share of the
   replies that name it and ``support_weight`` times its support
   (:func:`~ponder.graphs.qa_spans.span_support`: the share of the question's content words in
   the best sentence that names it).

The model reads ``sentences`` sentences of each passage (:func:`~ponder.graphs.qa_spans.focus`;
0: the whole passages). Compute knobs: ``links``, ``sentences``, ``passages`` (spans of the top 1,
3 or 5 passages are scored), ``samples`` and ``orders`` (each candidate scored under that many
orderings of the passages, the mean kept). Defaults chosen on the first 50 HotpotQA questions
(docs/RESULTS.md, issue 15, fifth session).
Every candidate is logged with its scores (``extra["spans"]``), with the margin between the best
two and whether the greedy reply named the winner (the confidence the allocator reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from ponder.agents import answerer
from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_links import follow_links
from ponder.graphs.qa_scaling import Scaled, Search, greedy_answers, orderings, sampled_answers
from ponder.graphs.qa_signals import Candidate, passage_title
from ponder.graphs.qa_spans import (
    choice_options,
    focus,
    of_answer_type,
    passage_spans,
    question_kind,
    snap,
    span_support,
)
from ponder.text import normalize_answer
from ponder.usage import Usage

#: How candidates are ranked: ``ctx`` the log-probability with the passages; ``mean`` the same per
#: token; ``pmi`` with the passages minus without them; ``pmi-mean`` that per token.
Rule = Literal["ctx", "mean", "pmi", "pmi-mean"]
RULES: tuple[Rule, ...] = get_args(Rule)
#: Defaults chosen on the first 50 HotpotQA questions (docs/RESULTS.md, issue 15, span).
RULE: Rule = "ctx"
REPLY_WEIGHT = 1.0
#: The weight of a candidate's support (see :func:`~ponder.graphs.qa_spans.span_support`).
SUPPORT_WEIGHT = 50.0
PASSAGES = 3
SAMPLES = 0
#: Orderings of the passages each candidate is scored under (the mean is its score).
ORDERS = 1
#: Passages followed from the first retrieval's best-supported spans (:mod:`ponder.graphs.qa_links`).
LINKS = 1
#: Keep only the candidates of the type an open question asks for (a date or number, or a name).
TYPES = True
#: Sentences of each passage the model reads (0: the whole passages).
SENTENCES = 1
#: Candidates whose support trails the best by more than this are not scored (``None``: all are).
WINDOW: float | None = 0.2
#: The most passage spans scored per question (in passage order).
MAX_SPANS = 60


@dataclass(frozen=True)
class Scored:
    """One candidate span with its scores: log-probabilities with and without the passages, its
    tokens, the share of the replies that named it and its support in the passages."""

    text: str
    ctx: float
    prior: float | None
    tokens: int
    named: float
    support: float = 0.0

    def value(self, rule: Rule, reply_weight: float, support_weight: float = 0.0) -> float:
        base = {"ctx": self.ctx, "mean": self.ctx / max(self.tokens, 1),
                "pmi": self.ctx - (self.prior or 0.0),
                "pmi-mean": (self.ctx - (self.prior or 0.0)) / max(self.tokens, 1)}[rule]
        return base + reply_weight * self.named + support_weight * self.support

    def to_dict(self) -> dict:
        return {"text": self.text, "ctx": round(self.ctx, 4),
                "prior": None if self.prior is None else round(self.prior, 4), "tokens": self.tokens,
                "named": round(self.named, 4), "support": round(self.support, 4)}


def choose(cands: Sequence[Scored], rule: Rule = RULE, reply_weight: float = REPLY_WEIGHT,
           support_weight: float = SUPPORT_WEIGHT) -> tuple[Scored | None, float]:
    """The best candidate under ``rule`` and its margin over the second (``inf`` when alone)."""
    if rule not in RULES:
        raise ConfigError(f"unknown span rule {rule!r}", hint=f"one of {', '.join(RULES)}")
    ranked = sorted(((c.value(rule, reply_weight, support_weight), c) for c in cands), key=lambda vc: -vc[0])
    if not ranked:
        return None, 0.0
    return ranked[0][1], ranked[0][0] - ranked[1][0] if len(ranked) > 1 else float("inf")


def margin_json(margin: float) -> float | None:
    """A margin as logged: rounded, ``None`` when the best candidate stood alone (``inf``)."""
    return None if margin == float("inf") else round(margin, 4)


def candidate_spans(question: str, hits: Sequence[Any], replies: Sequence[str], *, passages: int = PASSAGES,
                    max_spans: int = MAX_SPANS, types: bool = False) -> tuple[list[str], dict[str, float]]:
    """The candidates of a question (see the module docstring) and, per normalised candidate, the
    share of ``replies`` whose snapped answer it is; with ``types``, only those of the type the
    question asks for (:func:`~ponder.graphs.qa_spans.of_answer_type`)."""
    kind = question_kind(question)
    named: dict[str, float] = {}
    snapped = [snap(r, question, hits) for r in replies]
    for s in snapped:
        key = normalize_answer(s)
        if key:
            named[key] = named.get(key, 0.0) + 1 / len(replies)
    if kind == "yesno":
        return ["yes", "no"], named
    if kind == "choice":
        return list(choice_options(question) or ()), named
    spans = passage_spans(hits[:passages])
    q = f" {normalize_answer(question)} "
    spans = [s for s in spans if f" {normalize_answer(s)} " not in q][:max_spans]
    grounded = {normalize_answer(s) for s in passage_spans(hits)}
    out: list[str] = []
    seen: set[str] = set()
    for s in [*snapped, *spans]:  # the replies' spans first: they are scored whatever the cap
        key = normalize_answer(s)
        if key and key not in seen and key in grounded:
            seen.add(key)
            out.append(s)
    return of_answer_type(question, out) if types else out, named


class SpanSearch:
    """The state of one question's ``span`` search, grown step by step (the allocator escalates
    it): the retrieval (and links) and, with ``greedy``, the greedy reply at construction, then
    :meth:`reply` (the greedy reply), :meth:`sample` (more replies) and :meth:`score` (the
    candidates of more passages; only candidates not scored yet are paid for). With
    ``sentences``, the model reads only that many sentences of each passage
    (:func:`~ponder.graphs.qa_spans.focus`); candidates and support still come from the whole
    passages."""

    def __init__(self, question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, rule: Rule = RULE,
                 reply_weight: float = REPLY_WEIGHT, max_spans: int = MAX_SPANS, orders: int = ORDERS,
                 support_weight: float = SUPPORT_WEIGHT, links: int = LINKS, types: bool = TYPES,
                 sentences: int = SENTENCES, window: float | None = WINDOW, greedy: bool = True):
        if rule not in RULES:
            raise ConfigError(f"unknown span rule {rule!r}", hint=f"one of {', '.join(RULES)}")
        if max_spans < 1 or orders < 1 or sentences < 0 or (window is not None and window < 0):
            raise ConfigError(f"max_spans and orders must be >= 1, sentences and window >= 0, got {max_spans}, "
                              f"{orders}, {sentences} and {window}")
        self.question, self.llm, self.usage = question, llm, usage
        self.rule, self.reply_weight, self.max_spans, self.orders = rule, reply_weight, max_spans, orders
        self.support_weight, self.types = support_weight, types
        self.window = None if window is None or window == float("inf") else window
        self._support: dict[str, float] = {}
        self.retrieved = search(question, top_k)
        self.steps: list[dict] = [{"node": "retrieve", "query": question, "docs": [h.chunk.title for h in self.retrieved]}]
        # the second hop: passages about the best-supported spans, read with the sentence naming them
        self.links = follow_links(question, self.retrieved, search, links=links)
        if self.links:
            self.steps.append({"node": "links", "spans": [k.span for k in self.links],
                               "docs": [passage_title(k.hit) for k in self.links]})
        self.hits = [*self.retrieved, *(k.hit for k in self.links)]
        self.context = {passage_title(k.hit): k.via for k in self.links}
        self.scores: dict[str, Scored] = {}  # by normalised candidate
        #: what the model reads: the passages, or their sentences that speak of the question
        self.read: list[Any] = []
        self.reread(sentences)
        self.replies: list[Candidate] = []
        self.tokens: dict[str, Any] = {"replies": [], "ctx_prompt": 0, "prior_prompt": 0}
        if greedy:
            self.reply()

    def reply(self) -> None:
        """The greedy reply (once): its snapped span joins the candidates and the votes."""
        if not self.replies:
            self.replies = greedy_answers(self.llm, self.question, [self.read], self.usage, ["greedy"], self.hits)
            self.tokens["replies"] = [self.replies[0].tokens]

    def sample(self, n: int) -> None:
        """``n`` more sampled replies (their snapped spans join the candidates and the votes)."""
        if n > 0:
            more = sampled_answers(self.llm, self.question, self.read, n, self.usage)
            self.replies += more
            self.tokens["replies"] += [c.tokens for c in more]

    def candidates(self, passages: int | None = None) -> tuple[list[str], dict[str, float]]:
        """The candidates of the top ``passages`` retrieved passages, every linked one and the
        replies, with the replies' votes."""
        p = self.passages if passages is None else passages
        linked = [k.hit for k in self.links]
        hits = [*self.retrieved[:p], *linked, *self.retrieved[p:]]
        texts, named = candidate_spans(self.question, hits, [c.raw for c in self.replies], passages=p + len(linked),
                                       max_spans=self.max_spans, types=self.types)
        if texts and self.window is not None:
            # a candidate whose support trails the best by more than the window would need a
            # likelihood ``support_weight * window`` nats higher to win: it is not scored
            best = max(self.support(t) for t in texts)
            texts = [t for t in texts if self.support(t) >= best - self.window]
        return texts, named

    def support(self, text: str) -> float:
        """A candidate's support across the links (computed once)."""
        key = normalize_answer(text)
        if key not in self._support:
            self._support[key] = span_support(self.question, text, self.hits, self.context)
        return self._support[key]

    def unscored(self, passages: int) -> list[str]:
        """The candidates of the top ``passages`` passages and the replies not scored yet."""
        texts, _ = self.candidates(passages)
        return [t for t in texts if normalize_answer(t) not in self.scores]

    def score(self, passages: int) -> None:
        """Score the candidates of the top ``passages`` passages and the replies not scored yet."""
        new = self.unscored(passages)
        if new:
            # with ``orders`` > 1, the mean over orderings of the passages (a small model reads the
            # first passages most)
            prompts = [answerer.messages(self.question, passages=hits) for hits in orderings(self.read, self.orders)]
            per_order = [self.llm.score(p, new, usage=self.usage) for p in prompts]
            ctx = [sum(col) / len(col) for col in zip(*per_order)]
            prior: list[float | None] = [None] * len(new)
            if self.rule.startswith("pmi"):
                prior = list(self.llm.score(answerer.messages(self.question), new, usage=self.usage))
                self.tokens["prior_prompt"] = self.llm.count_tokens(answerer.messages(self.question))
            self.tokens["ctx_prompt"] += sum(self.llm.count_tokens(p) for p in prompts)
            for t, c, p in zip(new, ctx, prior):
                self.scores[normalize_answer(t)] = Scored(t, c, p, self.llm.count_text(t) + 1, 0.0, self.support(t))
        self.passages = max(self.passages, passages)

    def supported(self, passages: int) -> tuple[str | None, float]:
        """Without the model: the candidate of the top ``passages`` passages with the most support
        (:func:`~ponder.graphs.qa_spans.span_support`, across links) and its lead over the second
        (``inf`` when alone; ``None`` and 0.0 when there is none)."""
        texts, _ = self.candidates(passages)
        ranked = sorted(((self.support(t), t) for t in texts), key=lambda st: -st[0])
        if not ranked:
            return None, 0.0
        return ranked[0][1], ranked[0][0] - ranked[1][0] if len(ranked) > 1 else float("inf")

    def reread(self, sentences: int) -> None:
        """From now on the model reads ``sentences`` of each passage (0: the whole passages); the
        scores so far were read otherwise and are dropped (scoring again pays again)."""
        self.sentences = sentences
        self.read = focus(self.question, self.hits, keep=sentences) if sentences else self.hits
        self.scores.clear()
        self.passages = 0

    def ranked(self) -> tuple[Scored | None, float, list[Scored]]:
        """The best scored candidate of the current candidates (with the replies' current votes),
        its margin over the second, and every current candidate scored."""
        texts, named = self.candidates()
        scored = [replace(self.scores[k], named=named.get(k, 0.0)) for t in texts
                  if (k := normalize_answer(t)) in self.scores]
        best, margin = choose(scored, self.rule, self.reply_weight, self.support_weight)
        return best, margin, scored

    def snapped(self) -> str:
        """The span the greedy reply names ('' before the reply)."""
        return snap(self.replies[0].raw, self.question, self.hits) if self.replies else ""

    def agrees(self, best: Scored | None) -> bool:
        """Whether ``best`` is the span the greedy reply names (its snap)."""
        return best is not None and normalize_answer(best.text) == normalize_answer(self.snapped())

    def result(self, stop: str = "", extra_steps: Sequence[dict] = (), answer: str | None = None) -> Scaled:
        """The answer (``answer`` when given: one chosen without the model) with its evidence,
        candidates and signals."""
        best, margin, scored = self.ranked()
        snapped = self.snapped()
        if answer is None:
            answer = best.text if best else snapped
        agrees = self.agrees(best)
        steps = [*self.steps, *extra_steps, {"node": "span", "answer": answer, "candidates": len(scored),
                                             "margin": margin_json(margin), "greedy_agrees": agrees}]
        # the output is the span itself: answer-in-output accuracy is measured on what is answered
        out = Scaled(answer, answer, list(self.hits), [], steps, stop=stop)
        out.extra.update(
            greedy=self.replies[0].raw if self.replies else "", snapped=snapped, kind=question_kind(self.question), rule=self.rule,
            reply_weight=self.reply_weight, support_weight=self.support_weight, margin=margin_json(margin),
            greedy_agrees=agrees, replies=[c.raw for c in self.replies], tokens=dict(self.tokens),
            spans=[s.to_dict() for s in scored],
            links=[{"span": k.span, "title": passage_title(k.hit), "via": k.via} for k in self.links],
        )
        return out


def run_span(question: str, search: Search, llm, usage: Usage, *, top_k: int = 5, passages: int = PASSAGES,
             samples: int = SAMPLES, rule: Rule = RULE, reply_weight: float = REPLY_WEIGHT,
             max_spans: int = MAX_SPANS, orders: int = ORDERS, support_weight: float = SUPPORT_WEIGHT,
             links: int = LINKS, types: bool = TYPES, sentences: int = SENTENCES,
             window: float | None = WINDOW) -> Scaled:
    """Grounded extractive answers ranked by likelihood (see the module docstring). With
    ``samples=0`` the model writes no reply: the candidates are scored alone (the reply is
    written only when there is no candidate). When the budget runs out after the greedy reply,
    the answer is its snapped span or the best of what was scored."""
    if passages < 1 or samples < 0:
        raise ConfigError(f"passages must be >= 1 and samples >= 0, got {passages} and {samples}")
    state = SpanSearch(question, search, llm, usage, top_k=top_k, rule=rule, reply_weight=reply_weight,
                       max_spans=max_spans, orders=orders, support_weight=support_weight, links=links,
                       types=types, sentences=sentences, window=window, greedy=samples > 0)
    stop = ""
    try:
        state.sample(samples - 1)
        state.score(passages)
        if not state.scores:
            state.reply()
    except BudgetExceeded as e:
        stop = f"budget ({e.field})"
    return state.result(stop)
