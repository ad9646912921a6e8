"""The value judge: status words -> 1 / 0.5 / 0, averaged over k samples drawn in one call."""

from __future__ import annotations

import pytest

from ponder.agents.value_judge import JudgeConfig, JudgeInput, OracleValue, ValueJudge, parse_status
from ponder.environments.toy import ToyEnv, price_task
from ponder.testing import ScriptedChatModel
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
