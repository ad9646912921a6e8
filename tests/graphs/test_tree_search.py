"""Best-first search on the toy tree whose best path is known (scripted actor and judge)."""

from __future__ import annotations

import pytest

from ponder.agents.web_actor import ActorConfig
from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, buy_task, price_task, scripted_web_model
from ponder.graphs.tree_search import looks_destructive
from ponder.graphs.web_agent import WebAgentConfig, run_web
from ponder.usage import Budget

BEST = ["click [2]", "click [2]", "click [1]", "stop [$999]"]


def run(strategy="best-first", env=None, task=None, **cfg):
    env = env or ToyEnv()
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    config = WebAgentConfig(actor=ActorConfig(n=5), **cfg)
    result = run_web(env, task or price_task(), model, strategy=strategy, config=config)
    return env, result


def test_greedy_takes_the_tempting_wrong_branch():
    env, result = run("greedy")
    assert result.actions == ["click [1]", "click [1]", "stop [$12]"]
    assert env.evaluate().value == 0.0


def test_best_first_finds_the_best_path_within_the_budget():
    env, result = run(value_budget=10, branching=3, depth=3)
    assert result.actions == BEST
    assert result.answer == "$999" and result.stop_reason == "answered"
    assert env.evaluate().value == 1.0
    stats = result.trace["stats"]
    assert stats["total_value_calls"] <= 10 * stats["rounds"]
    # backtracking went through restore, never a replay
    assert result.runtime.counts["restore"] > 0 and result.runtime.counts["replay"] == 0
    assert result.usage["env_steps"] == result.runtime.counts["step"]
    # every node on the committed path is in the tree, and the values on it rise to success
    nodes = {n["id"]: n for n in result.trace["nodes"]}
    path = [nodes[i] for i in result.trace["committed"]]
    assert [n["action"] for n in path[1:]] == BEST
    assert path[-1]["value"] == 1.0


def test_one_expansion_budget_commits_the_best_child_each_round():
    # c = b = 3: each round expands only its root; the judge still steers to Electronics.
    env, result = run(value_budget=3, branching=3, depth=1)
    assert result.actions[0] == "click [2]"
    assert env.evaluate().value == 1.0


def test_search_without_snapshots_falls_back_to_replay():
    env = ToyEnv(can_snapshot=False)
    env, result = run(env=env)
    assert result.actions == BEST
    assert result.runtime.counts["restore"] == 0 and result.runtime.counts["replay"] > 0
    # a replay re-runs the steps from reset, and they are charged
    assert result.usage["env_steps"] > result.runtime.counts["step"]


def test_threshold_ends_the_round_at_the_first_success():
    env, result = run(value_budget=50, branching=3, depth=5)
    assert result.actions == BEST
    # with a huge budget the round still stops once the success was valued
    assert result.trace["stats"]["total_value_calls"] < 20


def test_destructive_actions_run_only_on_the_committed_path_without_snapshots():
    # A real deployment: no snapshots, and a reset does not undo an order.
    env = ToyEnv(can_snapshot=False, server_resets=False)
    assert looks_destructive("click [1]", "[1] link 'Buy now'")
    assert not looks_destructive("click [1]", "[1] link 'Laptops'")
    policy = dict(TOY_POLICY, **{"Zen Laptop": ["click [1]"], "Air Laptop": ["click [1]"], "Order placed": ["stop [done]"]})
    statuses = dict(TOY_STATUSES, **{"answer:done": "success"})
    model = scripted_web_model(policy, statuses)
    config = WebAgentConfig(actor=ActorConfig(n=5), value_budget=10, branching=3, depth=4, horizon=6)
    result = run_web(env, buy_task(), model, strategy="best-first", config=config)
    nodes = {n["id"]: n for n in result.trace["nodes"]}
    deferred = [n for n in nodes.values() if n.get("deferred") or n.get("deferred_until_commit")]
    assert deferred, "the Buy actions seen while searching should have been deferred"
    committed_buys = [nodes[i] for i in result.trace["committed"] if nodes[i]["destructive"]]
    assert len(committed_buys) == 1
    # the only order placed is the committed one, although the search replayed from reset many times
    assert env.orders == ["Zen Laptop"]
    assert result.runtime.counts["replay"] > 0
    assert env.evaluate().value == 1.0


def test_a_budget_stops_search_cleanly_and_keeps_the_best_so_far():
    env = ToyEnv()
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    config = WebAgentConfig(actor=ActorConfig(n=5), value_budget=10)
    result = run_web(env, price_task(), model, strategy="best-first", config=config, budget=Budget(calls=6))
    # actor (1 call) + 3 values + actor (1) = 5; the next 3 values would pass 6
    assert result.stop_reason == "budget"
    assert result.usage["calls"] <= 6
    assert result.actions  # something was committed
    assert env.page != "Home"


@pytest.mark.parametrize("strategy", ["greedy", "recheck", "best-first", "best-of-n"])
def test_nonsense_answers_become_error_observations_until_the_horizon(strategy):
    from ponder.models.scripted import ScriptedChatModel

    env = ToyEnv()
    model = ScriptedChatModel(default="The quick brown fox! 42 %%%")
    config = WebAgentConfig(actor=ActorConfig(n=3), horizon=3, value_budget=4, trajectories=2)
    result = run_web(env, price_task(), model, strategy=strategy, config=config)
    assert result.stop_reason in ("horizon", "exhausted")
    errors = [n["error"] for n in result.trace["nodes"] if n["action"]]
    assert errors and all("cannot parse" in e for e in errors)
    assert env.evaluate().value == 0.0


def test_after_the_last_search_round_the_agent_acts_greedily():
    # one round of c = 3 value calls commits Electronics; the rest of the episode is greedy
    env, result = run(value_budget=3, branching=3, depth=1, search_rounds=1)
    assert result.trace["stats"]["total_value_calls"] == 3
    assert result.actions[:3] == ["click [2]", "click [2]", "click [1]"]
    tail = [n for n in result.trace["nodes"] if n.get("tail")]
    assert len(tail) == len(result.actions) - 1 and all(n["value"] is None for n in tail)
    assert env.evaluate().value == 1.0
