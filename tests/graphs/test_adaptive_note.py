"""The Adaptive-Note loop with a scripted model (fast logic tests) and once with SmolLM2."""

import re

import pytest

from ponder.errors import BudgetExceeded
from ponder.graphs.adaptive_note import AdaptiveNoteConfig, run_adaptive_note
from ponder.graphs.qa_methods import answer_question
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage
from tests.conftest import sparse_index

FACTS = {
    "Eiffel Tower": "The Eiffel Tower in Paris was built by the company of Gustave Eiffel.",
    "Gustave Eiffel": "Gustave Eiffel was a French engineer born in Dijon.",
    "Dijon": "Dijon is a city in Burgundy known for mustard.",
    "Burgundy": "Burgundy is a region of France around the city of Dijon, famous for wine.",
    "Mustard": "Dijon mustard is a condiment made from seeds.",
    "Paris": "Paris is the capital city of France.",
}
QUESTION = "In which city was the engineer whose company built the Eiffel Tower born?"


@pytest.fixture
def index():
    return sparse_index(FACTS)


def prefer(pick):
    """A judge that prefers the notes ``pick`` chooses from (A, B) whichever order they come in."""

    def judge(messages):
        a, b = re.search(r"Notes A: (.*)\n\nNotes B: (.*)\n\n", messages[-1]["content"]).groups()
        return "A" if pick(a, b) == a else "B"

    return judge


LONGER = prefer(lambda a, b: max(a, b, key=len))
SHORTER = prefer(lambda a, b: min(a, b, key=len))


def scripted(queries, judge=LONGER, note=None):
    """Proposes ``queries`` in order, writes notes that copy the passages' first facts; the judge
    prefers the longer note unless told otherwise."""
    queue = list(queries)

    def propose(messages):
        return queue.pop(0) if queue else "Eiffel Tower"

    def take_note(messages):
        if note is not None:
            return note
        text = messages[-1]["content"]
        facts = re.findall(r"\] [^:]+: [^.]+\. ([^.]+\.)", text)
        current = re.search(r"Current notes: (.*?)\n", text)
        return " ".join(([current.group(1)] if current else []) + facts[:2])

    return ScriptedChatModel([
        (r"Reply with A or B", judge),
        (r"Write one new search query", propose),
        (r"Write notes|Rewrite the notes", take_note),
        (r"Only give me the answer", "Dijon"),
    ])


def test_loop_refines_until_max_steps_and_answers_from_the_note(index):
    model = scripted(["Gustave Eiffel birthplace", "Dijon city", "Burgundy region"])
    usage = Usage()
    state = run_adaptive_note(QUESTION, model, index, usage=usage, config=AdaptiveNoteConfig(top_k=2))
    assert state["answer"] == "Dijon"
    assert state["stop"] == "max_steps" and state["step"] == 3
    assert state["queries"][0] == QUESTION and len(state["queries"]) == 4
    # each retrieval appends the question; documents are never seen twice
    retrieves = [e for e in state["log"] if e["node"] == "retrieve"]
    assert all(e["query"].endswith(QUESTION) for e in retrieves)
    assert len(state["seen_docs"]) == len(set(state["seen_docs"]))
    seen_titles = [t for e in state["log"] for t in e.get("docs", []) + e.get("new_docs", [])]
    assert len(seen_titles) == len(set(seen_titles))
    # the six documents are all read by step 2, so step 3 retrieves nothing new (a spent step):
    # calls: init note + 2 x (propose, refine, judge in two orders) + propose + answer; retrievals: 1 + 3
    assert retrieves[-1]["new_docs"] == [] and len(state["seen_docs"]) == 6
    assert usage.calls == 11 and usage.retrievals == 4
    assert [e["verdict"] for e in state["log"] if e["node"] == "judge"] == ["new", "new"]
    assert "Dijon" in state["best_note"]
    answer_prompt = "\n".join(m["content"] for m in model.calls[-1])
    assert state["best_note"] in answer_prompt and "documents" not in answer_prompt


def test_rejection_stops_after_max_fails_and_keeps_the_best_note(index):
    model = scripted(["Gustave Eiffel birthplace"], judge=SHORTER)
    state = run_adaptive_note(QUESTION, model, index, usage=Usage(), config=AdaptiveNoteConfig(top_k=2, max_fails=1))
    assert state["stop"] == "max_fails" and state["fails"] == 1
    assert [e["verdict"] for e in state["log"] if e["node"] == "judge"] == ["old"]
    first_note = next(e["note"] for e in state["log"] if e["node"] == "init")
    assert state["best_note"] == first_note != state["note"]


def test_max_docs_stops_the_loop(index):
    model = scripted(["Gustave Eiffel", "Dijon", "Burgundy", "Mustard"])
    state = run_adaptive_note(QUESTION, model, index, usage=Usage(),
                              config=AdaptiveNoteConfig(top_k=2, max_docs=3, max_steps=5))
    assert state["stop"] == "max_docs" and len(state["seen_docs"]) == 3


def test_repeated_queries_are_replaced_or_end_the_loop(index):
    model = scripted([QUESTION, QUESTION, QUESTION], note="Gustave Eiffel was an engineer.")
    state = run_adaptive_note(QUESTION, model, index, usage=Usage(), config=AdaptiveNoteConfig(top_k=2))
    proposed = [e["query"] for e in state["log"] if e["node"] == "propose"]
    # the proposer's repeat of the question is replaced by a name from the note, not re-asked
    assert proposed and proposed[0] == "Gustave Eiffel"
    assert len({q.lower() for q in state["queries"]}) == len(state["queries"])


@pytest.mark.parametrize("position", ["A", "B"])
def test_a_judge_that_always_picks_one_position_is_split_and_the_gain_rule_decides(index, position):
    model = scripted(["Gustave Eiffel birthplace", "Mustard seeds"], judge=position)
    state = run_adaptive_note(QUESTION, model, index, usage=Usage(), config=AdaptiveNoteConfig(top_k=2, max_steps=2))
    judged = [e for e in state["log"] if e["node"] == "judge"]
    assert judged and all(e["verdict"] == "split" for e in judged)
    # the first refinement brings new on-topic facts, so the gain rule keeps it despite the judge
    assert judged[0]["gain"] > 0.1 and judged[0]["accepted"]
    assert state["best_note"] != next(e["note"] for e in state["log"] if e["node"] == "init")


@pytest.mark.parametrize("judge,verdict,preference", [("A", "split", 0.5), ("B", "split", 0.5), (LONGER, "new", 1.0)])
def test_the_graded_judge_cancels_position_bias_and_keeps_a_content_preference(index, judge, verdict, preference):
    model = scripted(["Gustave Eiffel birthplace", "Mustard seeds"], judge=judge)
    config = AdaptiveNoteConfig(top_k=2, max_steps=2, stop_rule="graded")
    state = run_adaptive_note(QUESTION, model, index, usage=Usage(), config=config)
    judged = [e for e in state["log"] if e["node"] == "judge"]
    assert judged[0]["rule"] == "graded" and judged[0]["verdict"] == verdict
    assert judged[0]["preference"] == pytest.approx(preference)
    assert judged[0]["accepted"]  # a clear preference for the new note, or the gain rule on a split
    asked = [c for c in model.calls if "Reply with A or B" in c[-1]["content"]]
    assert len(asked) == 2 * len(judged)  # both orders, every step


def test_gain_rule_replaces_the_judge(index):
    model = scripted(["Gustave Eiffel birthplace", "Mustard seeds", "Paris capital"])
    usage = Usage()
    result = answer_question(QUESTION, index, method="adaptive-note-gain", model=model, usage=usage, top_k=2)
    assert not any("Reply with A or B" in m[-1]["content"] for m in model.calls)
    judged = [s for s in result.steps if s["node"] == "judge"]
    assert judged and all(s["rule"] == "gain" for s in judged)
    assert judged[0]["gain"] > 0 and judged[0]["accepted"]
    assert result.answer == "Dijon" and result.stop


def test_budget_ends_the_loop_early_and_still_answers(index):
    model = scripted(["Gustave Eiffel birthplace", "Dijon city", "Burgundy region"])
    usage = Usage(Budget(calls=4))
    state = run_adaptive_note(QUESTION, model, index, usage=usage, config=AdaptiveNoteConfig(top_k=2))
    assert state["stop"].startswith("budget")
    assert usage.calls <= 4


def test_answer_question_refuses_a_budget_with_no_room(index):
    with pytest.raises(BudgetExceeded):
        answer_question(QUESTION, index, method="adaptive-note", model=scripted([]), budget=Budget(retrievals=0))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["adaptive-note", "adaptive-note-graded"])
def test_adaptive_note_with_smollm2(index, method):
    import importlib.util

    from ponder.models.registry import load_model

    # llama.cpp when it is built (several times faster on CPU), else transformers
    model = load_model("llamacpp:smollm2-135m" if importlib.util.find_spec("llama_cpp") else "smollm2-135m")
    usage = Usage()
    result = answer_question(QUESTION, index, method=method, model=model, usage=usage, top_k=2,
                             max_steps=1, note_tokens=40)
    assert result.steps[0]["node"] == "init" and result.notes and result.notes[0]
    assert result.steps[-1]["node"] == "answer" and isinstance(result.answer, str)
    assert usage.calls >= 2 and usage.retrievals >= 1 and usage.completion_tokens > 0
    assert {h.chunk.title for h in result.evidence} & {"Gustave Eiffel", "Eiffel Tower"}
    if method == "adaptive-note-graded":  # the real model's letter probabilities give a preference
        judged = [s for s in result.steps if s["node"] == "judge"]
        assert all(s["verdict"] == "old" and s["preference"] == 0.0 or 0.0 < s["preference"] < 1.0 for s in judged)
