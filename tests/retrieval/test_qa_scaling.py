"""The test-time scaling QA methods and the per-question allocator (``auto``), with scripted models
whose answers agree or disagree on purpose."""

import json
import re

import pytest

from ponder.errors import BudgetExceeded, ConfigError
from ponder.evals.qa import parse_settings, run_qa_eval
from ponder.graphs.qa_methods import answer_question
from ponder.graphs.qa_scaling import LEVELS, orderings
from ponder.graphs.qa_signals import Candidate, grounded, question_coverage, select_sentences, vote
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage
from tests.conftest import sparse_index

DOCS = {
    "Apple Inc.": "Apple Inc. was founded by Steve Jobs, Steve Wozniak and Ronald Wayne in 1976. It is based in Cupertino.",
    "iPhone": "The iPhone is a line of smartphones designed by Apple Inc. It was first released in 2007.",
    "Banana": "Bananas are yellow fruit. They grow in warm countries.",
    "Cupertino": "Cupertino is a city in California. Apple Park is in Cupertino.",
}
QUESTION = "Who founded the company that designs the iPhone?"


@pytest.fixture
def index():
    return sparse_index(DOCS)


def agreeing():
    """Always the same short answer, found in the passages."""
    return ScriptedChatModel([(r"Only give me the answer", "Steve Jobs")])


def first_passage_title(messages) -> str:
    """The title of the first passage in the prompt (the system message holds the documents)."""
    m = re.search(r"\[1\] ([^:]+):", messages[0]["content"])
    return m.group(1) if m else "nothing"


#: Invented answers (in no passage) by the title of the first passage shown.
INVENTED = {"iPhone": "Tim Cook", "Apple Inc.": "Jony Ive", "Cupertino": "Larry Page", "Banana": "Ada Lovelace"}


def disagreeing():
    """An invented answer that follows whichever passage comes first: orderings disagree."""
    return ScriptedChatModel([(r"Only give me the answer", lambda ms: INVENTED.get(first_passage_title(ms), "Bob"))])


def test_vote_weights_grounded_answers_and_reports_agreement():
    passages = [{"title": "Gustave Eiffel", "text": "Gustave Eiffel was born in Dijon."}]
    assert grounded("Dijon", passages) and not grounded("Paris", passages) and grounded("yes", passages)
    cands = [Candidate(a, a, "s", grounded(a, passages)) for a in ("Paris", "Paris", "Dijon")]
    chosen = vote(cands, ungrounded_weight=0.25)
    assert chosen.winner.answer == "Dijon" and chosen.distinct == 2
    assert chosen.agreement == pytest.approx(1 / 1.5)
    unanimous = vote([Candidate("Dijon", "Dijon", "s", True)] * 3)
    assert unanimous.agreement == pytest.approx(1.0) and unanimous.distinct == 1
    # without grounding the majority wins
    assert vote(cands, ungrounded_weight=1.0).winner.answer == "Paris"


def test_extractive_notes_follow_the_bridge():
    hits = [{"title": "iPhone", "text": "The iPhone is designed by Apple Inc. It has a screen."}]
    note = select_sentences(QUESTION, [], hits, keep=1)
    assert note == [("iPhone", "The iPhone is designed by Apple Inc.")]
    more = [{"title": "Apple Inc.", "text": "Apple Inc. was founded by Steve Jobs. Bananas are yellow."}]
    note = select_sentences(QUESTION, note, more, keep=2)
    assert ("Apple Inc.", "Apple Inc. was founded by Steve Jobs.") in note
    assert question_coverage("Who designed the iPhone?", hits) == 1.0
    assert question_coverage("Who designed the iPhone?", []) == 0.0


def test_orderings_are_distinct_and_start_as_retrieved():
    out = orderings([1, 2, 3, 4], 4)
    assert out[0] == [1, 2, 3, 4] and out[1] == [4, 3, 2, 1] and len({tuple(o) for o in out}) == 4


@pytest.mark.parametrize("method", [m for m in LEVELS])
def test_every_level_of_every_method_answers(method, index):
    for level in LEVELS[method].levels:
        usage = Usage()
        result = answer_question(QUESTION, index, method=method, model=agreeing(), usage=usage, top_k=3,
                                 **{LEVELS[method].setting: level})
        assert result.answer == "Steve Jobs" and result.extra["grounded"] and result.method == method
        assert usage.calls >= 1 and usage.retrievals >= 1


def test_more_samples_cost_more(index):
    spent = []
    for samples in LEVELS["vote"].levels:
        usage = Usage()
        answer_question(QUESTION, index, method="vote", model=agreeing(), usage=usage, top_k=3, samples=samples)
        spent.append(usage.tokens)
    assert spent == sorted(spent) and spent[0] < spent[-1]


def test_allocator_stops_early_when_the_cheap_answer_is_confident(index):
    usage = Usage()
    for first in ("single", "notes"):
        usage = Usage()
        result = answer_question("Who founded Apple Inc.?", index, method="auto", model=agreeing(), usage=usage, top_k=3,
                                 first=first)
        assert result.answer == "Steve Jobs"
        assert (usage.calls, usage.retrievals) == (1, 1)
        assert result.extra["decisions"] == [{"stage": first, "decision": "stop", "grounded": True, "coverage": 1.0,
                                              "words": 2}]
        assert result.stop == f"confident after {first}"


def test_allocator_escalates_when_answers_disagree(index):
    usage = Usage()
    llm = disagreeing()
    result = answer_question(QUESTION, index, method="auto", model=llm, usage=usage, top_k=3, max_rounds=2, first="single")
    stages = [(d["stage"], d["decision"]) for d in result.extra["decisions"]]
    assert stages[0] == ("single", "escalate") and stages[1] == ("order 2", "escalate")
    assert stages[-1][0] == "round 2" and stages[-1][1].startswith("stop")
    assert result.extra["decisions"][0]["grounded"] is False  # "Tim Cook" is in no passage
    assert result.extra["decisions"][1]["distinct"] == 2  # the sparse index finds two passages: two orders
    assert usage.retrievals == 3 and usage.calls == 4  # single, one call for the other order, 2 rounds
    assert result.extra["candidates"] == 4


def test_allocator_stops_when_the_orders_agree(index):
    llm = ScriptedChatModel([(r"Only give me the answer", "Steve Jobs founded the company that designs the iPhone")])
    usage = Usage()
    result = answer_question(QUESTION, index, method="auto", model=llm, usage=usage, top_k=3, first="single")
    # a sentence, not an answer: escalate once; the orders agree but the answer is not grounded
    assert [d["stage"] for d in result.extra["decisions"]][:2] == ["single", "order 2"]
    llm = ScriptedChatModel([(r"Only give me the answer", "Steve Jobs, Steve Wozniak and Ronald Wayne in 1976")])
    usage = Usage()
    result = answer_question(QUESTION, index, method="auto", model=llm, usage=usage, top_k=3, first="single")
    assert [(d["stage"], d["decision"]) for d in result.extra["decisions"]] == [("single", "escalate"), ("order 2", "stop")]
    assert usage.retrievals == 1


def test_notes_first_allocator_escalates_round_by_round_until_the_vote_agrees(index):
    usage = Usage()
    result = answer_question(QUESTION, index, method="auto", model=disagreeing(), usage=usage, top_k=3, max_rounds=3,
                             first="notes")
    decisions = [(d["stage"], d["decision"]) for d in result.extra["decisions"]]
    # the other orderings of the notes context answer differently (another passage first) and the
    # rounds show the same top passage first, so the invented answers never agree on a grounded
    # one: every ordering is asked, one call each, then every round, and no stop before the last
    orders = [d for d in decisions if d[0].startswith("order")]
    assert decisions == [("notes", "escalate"), *[(f"order {i}", "escalate") for i in range(2, len(orders) + 2)],
                         ("round 1", "escalate"), ("round 2", "escalate"), ("round 3", "stop (last stage)")]
    assert 1 <= len(orders) <= 2  # at most extra_orders; as many as the context has distinct orderings
    assert usage.retrievals == 4 and usage.calls == 4 + len(orders) and result.notes


@pytest.mark.parametrize("method,settings", [("auto", {"first": "notes", "max_rounds": 3}),
                                             ("auto", {"first": "single", "max_rounds": 3}),
                                             ("auto", {"first": "span", "margin_min": 9.0, "support_gap": 9.0}),
                                             ("span", {"samples": 3}), ("vote", {"samples": 8}),
                                             ("vote-orders", {"orders": 5}), ("notes", {"rounds": 3}),
                                             ("forage", {"rounds": 4})])
def test_budgets_are_never_exceeded(method, settings, index):
    unlimited = Usage()
    answer_question(QUESTION, index, method=method, model=disagreeing(), usage=unlimited, top_k=3, **settings)
    full = unlimited.tokens
    answered = 0
    for tokens in range(40, full + 200, 37):
        usage = Usage()
        try:
            result = answer_question(QUESTION, index, method=method, model=disagreeing(), usage=usage,
                                     budget=Budget(tokens=tokens, retrievals=2), top_k=3, **settings)
        except BudgetExceeded:
            assert usage.calls == 0  # only the very first answer may not fit
            continue
        answered += 1
        assert usage.tokens <= tokens and usage.retrievals <= 2 and result.answer
    assert answered > 0


def test_bad_settings_are_named(index):
    with pytest.raises(ConfigError, match="samplez"):
        answer_question(QUESTION, index, method="vote", model=agreeing(), samplez=3)
    with pytest.raises(ConfigError, match="samples must be >= 1"):
        answer_question(QUESTION, index, method="vote", model=agreeing(), samples=0)
    with pytest.raises(ConfigError, match="note kind"):
        answer_question(QUESTION, index, method="notes", model=agreeing(), note="poem")
    with pytest.raises(ConfigError, match="needs an index"):
        answer_question(QUESTION, None, method="auto", model=agreeing())
    assert parse_settings(["samples=8", "note=generated", "agree-min=0.5", "types=False"]) == {
        "samples": 8, "note": "generated", "agree_min": 0.5, "types": False}
    with pytest.raises(ConfigError, match="'samples'"):
        parse_settings(["samples"])


def test_eval_rows_log_the_allocators_decisions(tmp_path, musique_records):
    path = tmp_path / "musique.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in musique_records) + "\n")
    out = tmp_path / "auto.jsonl"
    rows = run_qa_eval(f"musique:{path}", "auto", llm=disagreeing(), out=out, limit=1, show_progress=False,
                       budget="tokens=900", max_rounds=2, first="notes")
    row = rows[0]
    assert row["strategy"] == "auto" and row["settings"] == {"max_rounds": 2, "first": "notes", "budget": {"tokens": 900}}
    assert row["extra"]["decisions"][0]["decision"] == "escalate" and row["extra"]["votes"]
    assert row["extra"]["decisions"][0]["stage"] == "notes" and row["usage"]["tokens"] <= 900


def test_paired_bootstrap_intervals():
    from ponder.evals.qa_frontier import paired_bootstrap

    assert paired_bootstrap([0.5, 0.2], [0.5, 0.2], resamples=200) == (0.0, 0.0, 0.0)
    better = [1.0] * 30 + [0.0] * 10
    worse = [0.0] * 30 + [0.0] * 10
    mean, lo, hi = paired_bootstrap(better, worse, resamples=2000)
    assert mean == pytest.approx(0.75) and 0 < lo < mean < hi <= 1.0
    mixed = [1.0, 0.0] * 20
    mean, lo, hi = paired_bootstrap(mixed, mixed[::-1], resamples=2000)
    assert mean == 0.0 and lo < 0 < hi
    with pytest.raises(ConfigError, match="equally long"):
        paired_bootstrap([1.0], [])


def test_frontier_rows_and_plot(tmp_path):
    from ponder.evals.qa_frontier import compact, frontier, markdown, plot

    def write(name, f1s, tokens):
        rows = [{"id": f"q{i}", "metrics": {"em": 0.0, "f1": f, "acc": float(f > 0.5)}, "usage": {"tokens": tokens, "calls": 1},
                 "seconds": 1.0} for i, f in enumerate(f1s)]
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    files = [write("single", [0.0, 0.2, 0.4, 0.0], 800), write("notes-rounds-2", [1.0, 0.2, 0.4, 0.6], 900),
             write("notes-rounds-1", [0.0, 0.2, 1.0, 0.0], 450)]
    rows = frontier(files, baseline="single", splits={"first 2": ["q0", "q1"], "all 4": ["q0", "q1", "q2", "q3"]},
                    resamples=500)
    by = {(r["run"], r["split"]): r for r in rows}
    assert by[("notes-rounds-2", "all 4")]["f1"] == pytest.approx(0.55) and by[("notes-rounds-2", "all 4")]["method"] == "notes"
    assert by[("notes-rounds-2", "all 4")]["d_f1"] == pytest.approx(0.4) and by[("single", "all 4")]["d_f1"] == 0.0
    assert by[("notes-rounds-1", "first 2")]["questions"] == 2 and by[("notes-rounds-1", "first 2")]["tokens"] == 450
    assert "| notes-rounds-2 | all 4 | 4 |" in markdown(rows)
    line = next(x for x in compact(rows, whole="all 4").splitlines() if x.startswith("| notes-rounds-2 |"))
    assert "| 0.550 |" in line and line.count("[") == 3  # all 4: ΔF1, Δacc; first 2: ΔF1
    assert plot(rows, tmp_path / "f.png", split="all 4").stat().st_size > 1000
    with pytest.raises(ConfigError, match="baseline"):
        frontier(files, baseline="none", splits={"all": ["q0"]})


def test_notes_with_orderings_vote_every_ordering_of_the_round(index):
    usage = Usage()
    result = answer_question(QUESTION, index, method="notes", model=disagreeing(), usage=usage, top_k=3, rounds=1, orders=3)
    sources = [v["source"] for v in result.extra["votes"]]
    assert sources[:2] == ["round 1", "round 1 order 2"] and len(sources) <= 3
    assert usage.calls == len(sources) and usage.retrievals == 1  # a batched call counts one per conversation
    assert len({v["answer"] for v in result.extra["votes"]}) > 1  # other passages first, other invented answers
