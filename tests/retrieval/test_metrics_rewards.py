import pytest

from ponder.retrieval.metrics import answer_in_output, exact_match, f1_score, qa_metrics, supporting_recall
from ponder.retrieval.rewards import (
    GainStop,
    content_words,
    coverage_curve,
    decayed,
    information_gain,
    trajectory_reward,
)


def test_squad_exact_match_and_f1():
    assert exact_match("The Eiffel Tower.", ["eiffel tower"]) == 1.0
    assert exact_match("Eiffel", ["eiffel tower"]) == 0.0
    assert f1_score("Eiffel", ["eiffel tower"]) == pytest.approx(2 / 3)
    assert f1_score("a spirit", ["spirit", "ghost"]) == 1.0
    assert f1_score("", ["x"]) == 0.0
    # HotpotQA's rule: yes/no must match exactly
    assert f1_score("no", ["yes"]) == 0.0 and f1_score("yes it is", ["yes"]) == 0.0


def test_answer_in_output_needs_whole_words():
    assert answer_in_output("I think it was born in Dijon, France.", ["Dijon"]) == 1.0
    assert answer_in_output("Dijonnaise", ["Dijon"]) == 0.0
    assert answer_in_output("anything", [""]) == 0.0


def test_supporting_recall_and_row_metrics():
    assert supporting_recall(["A", "B"], ["B", "C"]) == 0.5
    assert supporting_recall([], ["B"]) == 1.0
    m = qa_metrics("Dijon", "The answer is Dijon.", ["Dijon"], ["A", "B"], ["A"])
    assert m == {"em": 1.0, "f1": 1.0, "acc": 1.0, "sp_recall": 0.5}


def test_coverage_curve_accumulates():
    assert coverage_curve(["A", "B"], [["C"], ["A"], ["A", "D"], ["B"]]) == [0.0, 0.5, 0.5, 1.0]


def test_information_gain_rewards_new_evidence_backed_relevant_facts():
    q = "In which city was Gustave Eiffel born?"
    passage = {"title": "Gustave Eiffel", "text": "Gustave Eiffel was born in Dijon in 1832."}
    old = "Gustave Eiffel built the tower."
    gained = information_gain(q, old, "Gustave Eiffel built the tower. He was born in Dijon in 1832.", [passage])
    invented = information_gain(q, old, "Gustave Eiffel built the tower. He was born in Lyon.", [passage])
    same = information_gain(q, old, old, [passage])
    assert gained > 0.2 and gained > invented and same == 0.0
    assert information_gain(q, old, "anything new", []) == 0.0
    assert "dijon" in content_words("born in Dijon") and "the" not in content_words("the")


def test_step_decay_and_gain_stop():
    assert decayed([1.0, 1.0, 1.0]) == pytest.approx([1.0, 0.95, 0.9025])
    assert trajectory_reward([0.5, 0.5]) == pytest.approx(0.975)
    rule = GainStop(threshold=0.1)
    assert rule.accepts(0.2, 1) and not rule.accepts(0.05, 1)
    assert not GainStop(threshold=0.1).accepts(0.104, 1)  # 0.104 * 0.95 < 0.1
