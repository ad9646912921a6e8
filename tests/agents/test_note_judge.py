"""The note judge: letters that must agree in both orders, or letter probabilities averaged over
both orders (position bias cancels, a content preference survives)."""

from __future__ import annotations

import math

import pytest

from ponder.agents import note_judge
from ponder.models.base import ChatModel, Completion, ModelInfo, TokenLogprob


class Letters(ChatModel):
    """Replies to the two orders with P(B) ``p_b[0]`` (new note second) and ``p_b[1]`` (new first)."""

    def __init__(self, p_b):
        self.info = ModelInfo("letters", "test", 1)
        self.p_b = p_b
        self.asked = []

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        self.asked.append(logprobs)
        rows = []
        for p in self.p_b:
            top = tuple(sorted((("A", math.log(1 - p) if p < 1 else -99.0), ("B", math.log(p) if p > 0 else -99.0)),
                               key=lambda a: -a[1]))
            rows.append([Completion(top[0][0], "stop", 9, 1, [TokenLogprob(top[0][0], top[0][1], top)])])
        return rows


@pytest.mark.parametrize("p_b,verdict,preference", [
    ((0.2, 0.2), "split", 0.5),   # always leans to A by the same amount: no preference
    ((0.9, 0.9), "split", 0.5),   # always B
    ((0.5, 0.2), "new", 0.65),    # B when the new note is B, A when it is A: prefers the new note
    ((0.1, 0.7), "old", 0.2),
])
def test_graded_verdict_averages_both_orders(p_b, verdict, preference):
    model = Letters(p_b)
    got, pref = note_judge.graded_verdict(model, "q?", "old note", "new note")
    assert (got, pref) == (verdict, pytest.approx(preference, abs=1e-3))
    assert model.asked == [note_judge.TOP_LOGPROBS]  # one batched call, with the alternatives


def test_letters_must_agree_in_both_orders():
    assert note_judge.verdict(Letters((0.9, 0.1)), "q?", "old", "new") == "new"
    assert note_judge.verdict(Letters((0.9, 0.9)), "q?", "old", "new") == "split"
    assert note_judge.verdict(Letters((0.1, 0.9)), "q?", "old", "new") == "old"


def test_an_unchanged_note_is_kept_without_asking():
    model = Letters((0.9, 0.1))
    assert note_judge.graded_verdict(model, "q?", "same  note", "same note") == ("old", 0.0)
    assert model.asked == []
