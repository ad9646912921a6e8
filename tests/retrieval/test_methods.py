"""The five QA methods under one interface, with a scripted model; and once with SmolLM2."""

import pytest

from ponder.errors import BudgetExceeded, ConfigError
from ponder.graphs.qa_methods import METHODS, SCALING, answer_question
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage
from tests.conftest import sparse_index

DOCS = {
    "Apple Inc.": "Apple Inc. was founded by Steve Jobs, Steve Wozniak and Ronald Wayne in 1976.",
    "iPhone": "The iPhone is a line of smartphones designed by Apple Inc.",
    "Banana": "Bananas are yellow fruit.",
}


@pytest.fixture
def index():
    return sparse_index(DOCS)


def model():
    return ScriptedChatModel([
        (r"Reply with A or B", "B"),
        (r"Write one new search query", "Apple Inc. founders"),
        (r"Write notes|Rewrite the notes", "The iPhone is designed by Apple Inc. Apple was founded by Steve Jobs."),
        (r"Only give me the answer", "The answer is Steve Jobs."),
    ])


@pytest.mark.parametrize("method", [m for m in METHODS if m not in SCALING])  # scaling: test_qa_scaling.py
def test_every_method_answers_and_accounts(method, index):
    usage = Usage()
    result = answer_question("Who founded the company that designs the iPhone?", index, method=method,
                             model=model(), usage=usage, top_k=2)
    assert result.answer == "Steve Jobs" and "Steve Jobs" in result.raw
    assert result.method == method and result.usage is usage
    expected = {"none": (1, 0), "single": (1, 1), "iterative": (3, 3)}
    if method in expected:
        assert (usage.calls, usage.retrievals) == expected[method]
    else:
        assert usage.calls >= 3 and usage.retrievals >= 2
        assert result.best_note and result.notes
    if method != "none":
        assert "iPhone" in {h.chunk.title for h in result.evidence}
        assert len({h.chunk.chunk_id for h in result.evidence}) == len(result.evidence)
    else:
        assert result.evidence == []
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_iterative_queries_carry_the_previous_answer(index):
    m = model()
    result = answer_question("Who founded the company that designs the iPhone?", index, method="iterative",
                             model=m, rounds=2)
    rounds = [s for s in result.steps if s["node"] == "round"]
    assert rounds[0]["query"] == "Who founded the company that designs the iPhone?"
    assert rounds[1]["query"].endswith("The answer is Steve Jobs.")


def test_budgets_are_enforced_before_the_spend(index):
    with pytest.raises(BudgetExceeded):
        answer_question("Who?", index, method="single", model=model(), budget=Budget(retrievals=0))
    usage = Usage()
    result = answer_question("Who founded Apple?", index, method="iterative", model=model(), usage=usage,
                             budget=Budget(calls=2))
    assert usage.calls == 2 and result.stop.startswith("budget") and result.answer == "Steve Jobs"


def test_bad_arguments_are_clear(index):
    with pytest.raises(ConfigError, match="unknown QA method"):
        answer_question("q", index, method="magic", model=model())
    with pytest.raises(ConfigError, match="needs an index"):
        answer_question("q", None, method="single", model=model())
    with pytest.raises(ConfigError, match="unknown adaptive-note setting"):
        answer_question("q", index, method="adaptive-note", model=model(), max_stepz=2)
    with pytest.raises(ConfigError, match="empty"):
        answer_question("  ", index, model=model())


@pytest.mark.slow
def test_single_with_smollm2_uses_the_passages(index):
    from ponder.models.registry import load_model

    usage = Usage()
    result = answer_question("Who founded Apple Inc. in 1976?", index, method="single",
                             model=load_model("smollm2-135m"), usage=usage, top_k=2)
    assert usage.calls == 1 and usage.retrievals == 1
    assert result.evidence[0].chunk.title == "Apple Inc."
    assert result.answer and len(result.answer.split()) <= 12


def test_short_answer_parsing():
    from ponder.agents.answerer import parse

    assert parse("No, Christopher Nolan and Sathish Kalathil are not both directors.") == "no"
    assert parse("Yes.") == "yes"
    assert parse("Noah Smith") == "Noah Smith"
    assert parse("The answer is: Paris.") == "Paris"
    assert parse("") == ""
