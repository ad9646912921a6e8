"""The declared interfaces: the environment the web graphs drive (AgentEnv) and the value
function search scores states with (ValueFunction), which any implementation can fill."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from ponder.agents.value import JudgeInput, Judgement, ValueFunction
from ponder.agents.value_judge import OracleValue, ValueJudge
from ponder.agents.web_actor import ActorConfig
from ponder.environments.protocol import AgentEnv
from ponder.environments.toy import TOY_POLICY, ToyEnv, price_task, scripted_web_model
from ponder.graphs.web_agent import WebAgentConfig, run_web
from ponder.testing import ScriptedChatModel
from ponder.usage import Budget

BEST = ["click [2]", "click [2]", "click [1]", "stop [$999]"]


def _members(proto: type) -> set[str]:
    return {m for m in vars(proto) if not m.startswith("_")}


def test_every_environment_declares_the_agent_env_members():
    assert isinstance(ToyEnv(), AgentEnv)
    from ponder.environments.miniwob import MiniWoBEnv
    from ponder.environments.webenv import WebEnv

    for cls in (WebEnv, MiniWoBEnv):  # class-level check: an instance would start a browser
        assert _members(AgentEnv) <= set(dir(cls)), cls


def test_an_object_without_the_members_is_not_an_agent_env():
    class Half:
        can_snapshot = False

        def step(self, action):
            raise NotImplementedError

    assert not isinstance(Half(), AgentEnv)


def test_the_judge_and_the_oracle_are_value_functions():
    judge = ValueJudge(ScriptedChatModel(default="success", name="j"))
    assert isinstance(judge, ValueFunction) and judge.model_name == "j" and not judge.needs_env
    oracle = OracleValue()
    assert isinstance(oracle, ValueFunction) and oracle.model_name is None and oracle.needs_env


class PageValue:
    """A stand-in for a learned value: scores states from the page heading, one charged call
    per batch."""

    needs_env = False
    model_name = "page-value"

    def __init__(self):
        self.batches: list[int] = []

    def score_many(self, items: Sequence[JudgeInput], *, seed=None, usage=None, env=None) -> list[Judgement]:
        if usage is not None:
            usage.check(calls=1)
            usage.charge(calls=1)
        self.batches.append(len(items))
        return [Judgement(self._value(it), source="learned") for it in items]

    @staticmethod
    def _value(item: JudgeInput) -> float:
        if item.answer is not None:
            return 1.0 if item.answer == "$999" else 0.0
        m = re.search(r"heading '([^']*)'", item.observations[-1])
        return 0.5 if m and m.group(1) in ("Electronics", "Laptops", "Zen Laptop") else 0.0


def test_search_runs_on_any_value_function_and_charges_it():
    value = PageValue()
    assert isinstance(value, ValueFunction)
    model = scripted_web_model(TOY_POLICY)  # the actor only: states are valued by PageValue
    env = ToyEnv()
    result = run_web(env, price_task(), model, strategy="best-first", value_fn=value,
                     config=WebAgentConfig(actor=ActorConfig(n=5)))
    assert result.actions == BEST and env.evaluate().value == 1.0
    assert result.trace["judge_model"] == "page-value"
    actor_calls = sum(1 for n in result.trace["nodes"] if n["candidates"])
    assert result.usage["calls"] == actor_calls + len(value.batches)
    assert sum(value.batches) == result.trace["stats"]["total_value_calls"]


def test_a_value_function_over_budget_stops_the_run_cleanly():
    value = PageValue()
    result = run_web(ToyEnv(), price_task(), scripted_web_model(TOY_POLICY), strategy="best-first", value_fn=value,
                     config=WebAgentConfig(actor=ActorConfig(n=5)), budget=Budget(calls=2))
    assert result.stop_reason == "budget" and result.usage["calls"] <= 2
    assert len(value.batches) == 1


@pytest.mark.parametrize("name", ["beam", "best_first", ""])
def test_unknown_web_strategies_are_named(name):
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError, match=f"unknown web strategy '{name}'"):
        run_web(ToyEnv(), price_task(), scripted_web_model(TOY_POLICY), strategy=name)
