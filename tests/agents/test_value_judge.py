"""The value judge: status words -> 1 / 0.5 / 0, averaged over k samples drawn in one call."""

from __future__ import annotations

import math

import pytest

from ponder.agents.value_judge import (
    JudgeConfig,
    JudgeInput,
    OracleValue,
    ValueJudge,
    parse_status,
    token_status,
)
from ponder.environments.toy import ToyEnv, price_task
from ponder.models.base import ChatModel, Completion, ModelInfo, TokenLogprob
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Usage


@pytest.mark.parametrize(
    "text,value",
    [("success", 1.0), ("Status: On track.", 0.5), ("on-track", 0.5), ("failure", 0.0), ("It failed", 0.0),
     ("The answer is incorrect", 0.0), ("correct", 1.0), ("I don't know", None), ("", None)],
)
def test_parse_status(text, value):
    assert parse_status(text) == value


def test_samples_are_averaged_and_unknown_ones_ignored():
    replies = iter(["success", "on track", "hmm", "failure", "failure", "failure"])
    model = ScriptedChatModel(default=lambda m: next(replies))
    judge = ValueJudge(model, JudgeConfig(k=3))
    usage = Usage()
    a = JudgeInput("buy a mug", ["[1] link 'Mug'"], ["click [1]"])
    b = JudgeInput("buy a mug", ["[1] link 'Plate'"], ["click [2]"], answer="no")
    ja, jb = judge.score_many([a, b], usage=usage)
    assert ja.value == 0.75 and ja.samples == [1.0, 0.5, None]
    assert jb.value == 0.0
    assert usage.calls == 2 and len(model.calls) == 2  # one batched call over two states
    assert "Answer given: no" in model.calls[1][-1]["content"]


def test_no_status_at_all_gives_the_unknown_value():
    judge = ValueJudge(ScriptedChatModel(default="blue"), JudgeConfig(k=2, unknown_value=0.25))
    assert judge.score(JudgeInput("x", ["page"], [])).value == 0.25


def test_oracle_value_reads_the_environment_evaluator():
    env = ToyEnv()
    env.reset(price_task())
    oracle = OracleValue()
    assert oracle.score(JudgeInput("x", [], []), env=env).value == 0.0
    env.step("click [2]"), env.step("click [2]"), env.step("click [1]"), env.step("stop [$999]")
    assert oracle.score(JudgeInput("x", [], []), env=env).value == 1.0
    with pytest.raises(ValueError):
        oracle.score(JudgeInput("x", [], []))


@pytest.mark.parametrize(
    "token,value",
    [("success", 1.0), (" Succ", 1.0), ("on", 0.5), (" On", 0.5), ("progress", 0.5), ("fail", 0.0), ("Failure", 0.0),
     ("inc", 0.0), ("cor", 1.0), ("in", None), ("one", None), ("Status", None), ("the", None), (":", None)],
)
def test_token_status(token, value):
    assert token_status(token) == value


class Distributions(ChatModel):
    """Replies "Status: <word>" with given probabilities of the status word's alternatives."""

    def __init__(self, dists):
        self.info = ModelInfo("dists", "test", 1)
        self.dists = list(dists)
        self.asked = []

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        self.asked.append((n, temperature, logprobs))
        rows = []
        for _ in batch:
            dist = self.dists.pop(0)
            if dist is None:
                rows.append([Completion("I cannot tell", "stop", 5, 3, [TokenLogprob("I", -0.1, (("I", -0.1),))])])
                continue
            top = tuple(sorted(((w, math.log(p)) for w, p in dist.items()), key=lambda a: -a[1]))
            lp = [TokenLogprob("Status", -0.01, (("Status", -0.01),)), TokenLogprob(":", -0.01, ((":", -0.01),)),
                  TokenLogprob(top[0][0], top[0][1], top)]
            rows.append([Completion(f"Status: {top[0][0].strip()}", "stop", 5, 3, lp)])
        return rows


def test_graded_judge_reads_the_status_distribution():
    model = Distributions([
        {" success": 0.6, " failure": 0.2, " the": 0.2},     # 0.6 / 0.8 = 0.75
        {" Succ": 0.1, " on": 0.3, " fail": 0.5, " fa": 0.1},  # (0.1 + 0.15) / 0.9
        None,                                               # no status word at all
        {" [": 0.5, " success": 0.1, " failure": 0.3},        # a reply that names none: read the alternatives
    ])
    judge = ValueJudge(model, JudgeConfig(graded=True, top=5, unknown_value=0.25))
    a, b, c, d = judge.score_many([JudgeInput("x", ["p"], []) for _ in range(4)])
    assert model.asked == [(1, 0.0, 5)]  # one greedy call over the four states, 5 alternatives each
    assert a.value == pytest.approx(0.75) and a.dist == pytest.approx({"success": 0.75, "on track": 0.0, "failure": 0.25}, abs=1e-4)
    assert b.value == pytest.approx(0.25 / 0.9, abs=1e-4) and a.source == b.source == "graded"
    assert c.value == 0.25 and c.dist is None
    assert d.value == pytest.approx(0.25) and d.dist["failure"] == pytest.approx(0.75)
    assert a.to_dict()["dist"]["success"] == pytest.approx(0.75)


@pytest.mark.slow
def test_graded_judge_with_the_real_model_ranks_a_right_answer_over_a_wrong_one():
    from ponder.models.registry import load_model

    judge = ValueJudge(load_model("smollm2-135m"), JudgeConfig(graded=True, recent=1))
    right = JudgeInput("What is the price of the Red Lamp?", ["StaticText 'Red Lamp $24.00' [5] button 'Add to cart'"],
                       ["click [3]", "stop [$24.00]"], answer="$24.00")
    wrong = JudgeInput("What is the price of the Red Lamp?", ["StaticText 'Page not found'"],
                       ["click [9]", "stop [no idea]"], answer="no idea")
    usage = Usage()
    jr, jw = judge.score_many([right, wrong], usage=usage)
    for j in (jr, jw):
        assert 0.0 < j.value < 1.0 and sum(j.dist.values()) == pytest.approx(1.0, abs=1e-3)
    assert jr.value > jw.value + 0.1
    assert usage.calls == 2 and usage.completion_tokens <= 2 * JudgeConfig().max_tokens
