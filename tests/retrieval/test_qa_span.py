"""Grounded spans (``qa_spans``), continuation scoring (``ChatModel.score``) and the ``span`` QA
method, with scripted models."""

import pytest

from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_extract import Scored, candidate_spans, choose
from ponder.graphs.qa_methods import answer_question
from ponder.graphs.qa_spans import (
    answer_type,
    choice_options,
    of_answer_type,
    passage_spans,
    pick_option,
    question_kind,
    snap,
    span_support,
)
from ponder.models.base import ChatModel, ModelInfo
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage
from tests.conftest import sparse_index

DOCS = {
    "Apple Inc.": "Apple Inc. was founded by Steve Jobs, Steve Wozniak and Ronald Wayne in 1976. It is based in Cupertino.",
    "iPhone": "The iPhone is a line of smartphones designed by Apple Inc. It was first released on June 29, 2007.",
    "Banana": "Bananas are yellow fruit. They grow in warm countries.",
}
QUESTION = "Who founded the company that designs the iPhone?"


@pytest.fixture
def index():
    return sparse_index(DOCS)


def test_question_kinds_and_choice_options():
    assert question_kind("Which band was formed first The Exies or Circus Diablo ?") == "choice"
    assert choice_options("Which band was formed first The Exies or Circus Diablo ?") == ("The Exies", "Circus Diablo")
    assert choice_options("Who is the oldest, Sid Haig or Vic Darchinyan?") == ("Sid Haig", "Vic Darchinyan")
    # "in or around" names no two options
    assert question_kind("Who directed the film that was shot in or around Leland, North Carolina in 1986") == "open"
    assert question_kind("Are Christopher Nolan and Sathish Kalathil both film directors?") == "yesno"
    assert question_kind("The director has an OBE. Does the director Puneet Sira also have one?") == "yesno"
    assert question_kind("In what year was the man born?") == "open"


def test_passage_spans_names_numbers_dates_not_across_the_title():
    spans = passage_spans([{"title": "iPhone", "text": DOCS["iPhone"]},
                           {"title": "Apple Inc.", "text": DOCS["Apple Inc."]}])
    assert "June 29, 2007" in spans and "Steve Wozniak" in spans and "1976" in spans and "Cupertino" in spans
    assert "iPhone" in spans  # the title
    assert not any(s.startswith("iPhone The") for s in spans)  # no phrase runs from the title into the text
    assert "It" not in spans and "The" not in spans


def test_snap_picks_the_grounded_span_a_reply_names():
    hits = [{"title": "Apple Inc.", "text": DOCS["Apple Inc."]}]
    # the span in the reply that is not in the question
    assert snap("The company that designs the iPhone was founded by Steve Jobs.", QUESTION, hits) == "Steve Jobs"
    assert snap("It was founded by Steve Wozniak and Steve Jobs.", QUESTION, hits, rule="last") == "Steve Jobs"
    assert snap("It was founded in 1976.", "When was Apple founded?", hits) == "1976"
    # nothing grounded: the reply's short answer
    assert snap("Tim Cook", QUESTION, hits) == "Tim Cook"
    # yes/no: the reply's word, or a negated statement
    yn = "Are Apple and Banana both companies?"
    assert snap("No, they are not.", yn, hits) == "no"
    assert snap("Apple is not a fruit company.", yn, hits) == "no"
    assert snap("Both are companies.", yn, hits) == "yes"
    # choice: the option named first, a surname is enough
    q = "Which singer is American, Mark King or Nick Hexum?"
    assert snap("Hexum is American, unlike Mark King.", q, hits) == "Nick Hexum"
    assert pick_option("neither", ("Mark King", "Nick Hexum")) == ""


def test_span_support_is_the_question_share_of_the_best_sentence_naming_the_span():
    hits = [{"title": "Apple Inc.", "text": DOCS["Apple Inc."]}, {"title": "Banana", "text": DOCS["Banana"]}]
    q = "Who founded the company based in Cupertino?"  # content words: founded, company, based, cupertino
    assert span_support(q, "Steve Jobs", hits) == pytest.approx(1 / 4)  # "... was founded by Steve Jobs ..."
    # the span's own words do not count: "based" of the 3 others is in its sentence
    assert span_support(q, "Cupertino", hits) == pytest.approx(1 / 3)
    # a title is part of each of its passage's sentences; whole words only
    assert span_support(q, "Apple Inc.", hits) == pytest.approx(2 / 4)
    assert span_support(q, "Steve Job", hits) == 0.0
    assert span_support(q, "Tim Cook", hits) == 0.0 and span_support("Who?", "Steve Jobs", hits) == 0.0


def test_answer_types_keep_the_spans_a_question_asks_for():
    assert answer_type("Who directed the film shot in Leland in 1986?") == "name"
    assert answer_type("The team was formed in what year?") == answer_type("When was it founded?") == "quantity"
    assert answer_type("At the 2011 census, what was the population of the city?") == "quantity"
    assert answer_type("How many times was he selected?") == "quantity"
    assert answer_type("He worked with the mayor of what city?") == "name"
    # the first interrogative decides ("which city ... when ..."); "what is" and "of what in" cannot tell
    assert answer_type("Which city was the band formed in when it started?") == "name"
    assert answer_type("What is the name of the band?") is None and answer_type("output of what in 2011?") is None
    spans = ["Stephen King", "1986", "June 29, 2007", "150 million", "Apollo 11"]
    assert of_answer_type("Who directed it?", spans) == ["Stephen King", "Apollo 11"]
    assert of_answer_type("When was it released?", spans) == ["1986", "June 29, 2007", "150 million"]
    assert of_answer_type("What is it?", spans) == spans
    assert of_answer_type("When was it released?", ["Stephen King"]) == ["Stephen King"]  # none of the type: all


def test_support_outweighs_a_likelier_span_named_away_from_the_question():
    far = Scored("Banana", ctx=-3.0, prior=None, tokens=2, named=0.0, support=0.0)
    near = Scored("Steve Jobs", ctx=-6.0, prior=None, tokens=3, named=0.0, support=0.5)
    assert choose([far, near], "ctx", 0.0, 0.0)[0].text == "Banana"
    best, margin = choose([far, near], "ctx", 0.0, 50.0)
    assert best.text == "Steve Jobs" and margin == pytest.approx(-6.0 + 25.0 + 3.0)


def test_scripted_score_is_deterministic_and_charged():
    model = ScriptedChatModel(default="x")
    msgs = [{"role": "system", "content": "Paris is in France."}, {"role": "user", "content": "Where is Paris?"}]
    usage = Usage()
    scores = model.score(msgs, ["France", "Germany"], usage=usage)
    assert scores[0] > scores[1] and scores == model.score(msgs, ["France", "Germany"])
    # the prompt once (7 words) plus each continuation and its end token
    assert usage.prompt_tokens == 7 + 2 + 2 and usage.calls == 1 and usage.completion_tokens == 0
    assert usage.flops == pytest.approx(2 * model.info.parameters * 11)
    custom = ScriptedChatModel(default="x", scorer=lambda ms, c: -len(c))
    assert custom.score(msgs, ["ab", "abcd"]) == [-2.0, -4.0]
    assert model.score(msgs, []) == []
    with pytest.raises(BudgetExceeded):
        model.score(msgs, ["France"] * 10, usage=Usage(Budget(tokens=10)))


def test_a_backend_that_cannot_score_says_so():
    class Plain(ChatModel):
        info = ModelInfo(name="plain", backend="plain", parameters=1)

        def _generate_batch(self, batch, **kw):
            return [[] for _ in batch]

    with pytest.raises(ConfigError, match="cannot score"):
        Plain().score([{"role": "user", "content": "hi"}], ["a"])


def test_choose_rules_and_margin():
    cands = [Scored("Long Rare Name", ctx=-12.0, prior=-40.0, tokens=6, named=0.0),
             Scored("Paris", ctx=-3.0, prior=-8.0, tokens=2, named=1.0)]
    assert choose(cands, "ctx", 0.0)[0].text == "Paris"
    assert choose(cands, "pmi", 0.0)[0].text == "Long Rare Name"  # 28 against 5
    best, margin = choose(cands, "pmi", 30.0)  # a reply naming it outweighs the prior
    assert best.text == "Paris" and margin == pytest.approx(35 - 28)
    assert choose([], "pmi", 0.0) == (None, 0.0)
    with pytest.raises(ConfigError, match="unknown span rule"):
        choose(cands, "best", 0.0)


def test_candidates_by_question_kind():
    hits = [{"title": "Apple Inc.", "text": DOCS["Apple Inc."]}]
    cands, named = candidate_spans(QUESTION, hits, ["It was founded by Steve Wozniak."])
    assert cands[0] == "Steve Wozniak" and named == {"steve wozniak": 1.0} and "Cupertino" in cands
    # "Who ...?" asks for a name: with types, the year is not a candidate
    typed, _ = candidate_spans(QUESTION, hits, ["It was founded by Steve Wozniak."], types=True)
    assert "1976" in cands and typed == [c for c in cands if c != "1976"]
    assert candidate_spans("Is Apple based in Cupertino?", hits, ["Yes"])[0] == ["yes", "no"]
    assert candidate_spans("Which is older, Apple or Banana?", hits, ["Apple"])[0] == ["Apple", "Banana"]


def copying_model():
    """Replies in a sentence naming Steve Wozniak; scores follow the default copy scorer."""
    return ScriptedChatModel([(r"Only give me the answer", "The company was founded by Steve Wozniak in 1976.")])


def test_span_method_end_to_end(index):
    model = copying_model()
    result = answer_question(QUESTION, index, method="span", model=model, top_k=2, passages=2, samples=2, rule="ctx",
                             types=False, links=0, sentences=0)
    extra = result.extra
    assert result.method == "span" and result.raw == result.answer
    assert extra["snapped"] == "Steve Wozniak" and extra["kind"] == "open"
    assert {s["text"] for s in extra["spans"]} >= {"Steve Wozniak", "1976"}
    # the chosen answer is the best candidate under the rule plus the reply and support bonuses
    best = max(extra["spans"], key=lambda s: s["ctx"] + extra["reply_weight"] * s["named"]
               + extra["support_weight"] * s["support"])
    assert result.answer == best["text"] == "Steve Wozniak" and extra["greedy_agrees"]
    # two generate calls (greedy, samples) and two score calls (with and without the passages)
    # are charged; the scorer saw the candidates once with passages, once without
    assert result.usage.calls == 2 + 1
    assert len(model.scored) == 1
    pmi = answer_question(QUESTION, index, method="span", model=model, top_k=2, rule="pmi", samples=1)
    assert pmi.usage.calls == 1 + 2 and len(model.scored) == 3
    assert "documents" not in model.scored[-1][0][0]["content"]  # the prior: no passages


def test_span_respects_budgets(index):
    model = copying_model()
    free = answer_question(QUESTION, index, method="span", model=model, top_k=2)
    tokens = free.usage.tokens
    for limit in (tokens - 1, tokens - 5):
        capped = answer_question(QUESTION, index, method="span", model=copying_model(), top_k=2,
                                 budget=Budget(tokens=limit))
        assert capped.usage.tokens <= limit and capped.stop.startswith("budget")
        assert capped.answer == capped.extra["snapped"]  # no scores: the snapped greedy reply
    with pytest.raises(ConfigError, match="passages"):
        answer_question(QUESTION, index, method="span", model=model, passages=0)
    with pytest.raises(ConfigError, match="unknown span rule"):
        answer_question(QUESTION, index, method="span", model=model, rule="best")


def test_span_orders_score_under_each_ordering_and_keep_the_mean(index):
    """A scorer that prefers whatever name comes first in the passages is swayed by their order;
    over both orderings each candidate gets the mean of its two scores."""
    def first_passage(messages, continuation):
        body = messages[0]["content"]
        return -float(body.find(continuation)) if continuation in body else -1e4

    model = ScriptedChatModel([(r"Only give me the answer", "Steve Wozniak")], scorer=first_passage)
    one = answer_question(QUESTION, index, method="span", model=model, top_k=2, passages=2)
    two = answer_question(QUESTION, index, method="span", model=model, top_k=2, passages=2, orders=2)
    assert len(model.scored) == 1 + 2  # one scoring call per ordering
    prompts = [m[0]["content"] for m, _ in model.scored[1:]]
    assert prompts[0] != prompts[1] and sorted(prompts[0]) == sorted(prompts[1])  # same passages, other order
    ctx = {s["text"]: s["ctx"] for s in two.extra["spans"]}
    for text, score in ctx.items():
        assert score == pytest.approx(sum(first_passage([{"content": p}], text) for p in prompts) / 2, abs=1e-3)
    assert two.usage.prompt_tokens > one.usage.prompt_tokens
    with pytest.raises(ConfigError, match="orders"):
        answer_question(QUESTION, index, method="span", model=model, orders=0)


def favouring(name: str):
    """A scorer that, given the passages, prefers ``name`` by a wide margin (prior flat)."""
    def scorer(messages, continuation):
        with_passages = "documents" in messages[0]["content"]
        return 0.0 if with_passages and continuation == name else -5.0
    return scorer


def test_allocator_stops_when_the_scores_agree(index):
    model = ScriptedChatModel([(r"Only give me the answer", "It was founded by Steve Wozniak.")],
                              scorer=favouring("Steve Wozniak"))
    result = answer_question(QUESTION, index, method="auto", model=model, top_k=2, first="span", span_sentences=1,
                             margin_min=1.0, support_gap=9.0)
    assert result.answer == "Steve Wozniak"
    assert [d["stage"] for d in result.extra["decisions"]] == ["support", "score 1 sentences"]
    assert result.extra["decisions"][-1]["decision"] == "stop" and result.stop.startswith("confident")
    assert result.usage.calls == 1 and result.extra["replies"] == []  # one scoring call, no reply
    # the evidence alone: with no gap required, the best-supported candidate, without the model
    free = answer_question(QUESTION, index, method="auto", model=model, top_k=2, first="span", support_gap=0.0)
    assert free.usage.calls == 0 and free.usage.tokens == 0 and free.extra["decisions"][0]["decision"] == "stop"
    assert free.answer in {s for s in ("Steve Jobs", "Steve Wozniak", "Ronald Wayne", "Apple Inc")}


def test_allocator_escalates_when_the_scores_do_not_separate(index):
    flat = ScriptedChatModel([(r"Only give me the answer", "It was founded by Steve Wozniak.")],
                             scorer=lambda ms, c: -3.0)
    result = answer_question(QUESTION, index, method="auto", model=flat, top_k=2, first="span", span_sentences=1,
                             margin_min=1.0, support_gap=9.0)
    decisions = result.extra["decisions"]
    assert [(d["stage"], d["decision"]) for d in decisions] == [
        ("support", "escalate"), ("score 1 sentences", "escalate"), ("score passages", "escalate"),
        ("reply", "stop (last stage)")]
    assert decisions[1]["margin"] == 0.0 and len(result.extra["replies"]) == 1
    # the second scoring read the whole passages, the first one sentence of each
    assert "Cupertino" not in flat.scored[0][0][0]["content"] and "Cupertino" in flat.scored[1][0][0]["content"]
    assert result.usage.calls == 3 and result.answer == "Steve Wozniak"  # the reply's span breaks the tie
    # under a budget that the next stage would pass, it is skipped, and the ledger stays under it
    cheap = ScriptedChatModel([(r"Only give me the answer", "Nobody knows.")], scorer=lambda ms, c: -3.0)
    first = answer_question(QUESTION, index, method="auto", model=cheap, top_k=2, first="span", span_sentences=1,
                            margin_min=0.0, support_gap=9.0).usage.tokens
    for limit in (first + 5, first - 1):
        capped = answer_question(QUESTION, index, method="auto", model=cheap, top_k=2, first="span",
                                 span_sentences=1, margin_min=1.0, support_gap=9.0, budget=Budget(tokens=limit))
        assert capped.usage.tokens <= limit and capped.extra["decisions"][-1]["decision"].startswith("skip")
    with pytest.raises(ConfigError, match="margin_min"):
        answer_question(QUESTION, index, method="auto", model=cheap, first="span", margin_min=-1.0)


def test_frontier_names_the_span_runs_and_the_snapped_baseline():
    from ponder.evals.qa_frontier import _method

    assert _method("span-passages-1-samples-1") == "span" and _method("span-orders-3") == "span + orders"
    assert _method("span-support_weight-50-passages-3-samples-1") == "span + support"
    assert _method("span-top-k-3") == "span + support, top-k"
    assert _method("span-links-1-types-samples-0-sentences-1-top-k-3") == "span + links + types"
    assert _method("span-types-samples-0-sentences-1-top-k-3") == "span + links + types"  # links 0: a level
    assert _method("auto-first-span-ladder") == "auto (span ladder)" and _method("auto-first-span") == "auto"
    assert _method("single-snap") == "single + snap" and _method("single") == "single"


def test_the_service_queue_passes_scoring_through(index):
    from ponder.service.queue import ModelQueue, QueuedChatModel

    q = ModelQueue("m", copying_model(), max_batch=4, batch_wait_ms=1)
    try:
        result = answer_question(QUESTION, index, method="span", model=QueuedChatModel(q), top_k=2, passages=2,
                                 samples=1)
        assert result.answer == "Steve Wozniak" and result.extra["spans"]
    finally:
        q.close()
