"""Optimizer mechanics on the surface: Agent-REINFORCE with a scripted or an LLM agent, its
validation and fallback, numeric REINFORCE, random and TPE under one evaluation budget."""

import json
import statistics

import pytest

from ponder.agents.optimizer_agent import LLMOptimizerAgent, RuleOptimizerAgent, parse_json_answer
from ponder.evals.bench.optimizer import evals_to_optimum
from ponder.evals.bench.optimizer import run as bench_run
from ponder.graphs.optimizer.agent_reinforce import AgentReinforce
from ponder.graphs.optimizer.evaluate import SurfaceEvaluator
from ponder.graphs.optimizer.run import Driver, make_method
from ponder.graphs.optimizer.surface import Surface
from ponder.models.scripted import ScriptedChatModel


def drive(method, surface, evals):
    d = Driver(method, SurfaceEvaluator(surface), max_evals=evals, progress=False)
    return d.run()


@pytest.mark.parametrize("name", ["agent-reinforce", "reinforce", "random", "tpe"])
def test_every_method_respects_the_evaluation_budget(name):
    s = Surface("math", seed=1)
    result = drive(make_method(name, s.space, seed=1), s, 25)
    assert s.evaluations == 25 == result.evaluations
    assert result.best is not None and s.space.within_budget(result.best["config"])
    assert all(s.space.within_budget(row["config"]) for row in result.history)


def test_agent_reinforce_pilot_then_feedback():
    s = Surface("facts", seed=0)
    m = make_method("agent-reinforce", s.space, seed=0)
    drive(m, s, 12)
    rep = m.report()
    assert set(rep["pilot"]) == {"small", "medium", "large"}
    assert rep["preferred_model"] == "small"  # facts prefers the cheap model at this budget
    assert rep["agent_steps"] >= 3 and rep["fallbacks"] == 0
    assert rep["probabilities"]["model"]["small"] > 0.5


def test_agent_reinforce_finds_the_optimum_faster_than_random():
    seeds = range(6)
    agent = [evals_to_optimum("agent-reinforce", ("math", "facts")[s % 2], s, max_evals=300, items=32) for s in seeds]
    rnd = [evals_to_optimum("random", ("math", "facts")[s % 2], s, max_evals=300, items=32) for s in seeds]
    assert max(agent) <= 60
    assert statistics.median(agent) <= 0.5 * statistics.median(rnd)


class Scripted:
    def __init__(self, answers):
        self.answers = list(answers)
        self.usage = None
        self.contexts = []

    def respond(self, context):
        self.contexts.append(context)
        return self.answers.pop(0) if self.answers else "no idea"


def test_invalid_answers_fall_back_to_numeric_reinforce():
    s = Surface("math", seed=2)
    answers = [
        "I think width 3 is good",  # no JSON
        json.dumps({"graph": {"model": "gpt-9", "width": 2, "depth": 1}}),  # unknown model
        json.dumps({"graph": {"model": "large", "width": 5, "depth": 3}}),  # over budget
        json.dumps({"graph": {"model": "medium", "width": 3, "depth": 2, "agg": "vote", "edges": "full"},
                    "updates": [{"factor": "width", "choice": "3", "delta": 50}, {"factor": "nope", "choice": 1, "delta": 1}]}),
    ]
    agent = Scripted(answers)
    m = AgentReinforce(s.space, agent=agent, seed=2, batch=2)
    drive(m, s, 3 + 3 * 4 + 2)
    rep = m.report()
    assert rep["fallbacks"] >= 3
    assert any("not in the pool" in r for r in rep["invalid_answers"])
    assert any("over budget" in r for r in rep["invalid_answers"])
    assert any("no JSON" in r for r in rep["invalid_answers"])
    assert rep["clipped_updates"] == 1
    assert m.pg.logits["width"].max() <= 5.0  # clipped, not +50
    assert m.history.seen(s.space.homogeneous("medium", 3, 2))  # the valid proposal was evaluated
    ctx = agent.contexts[-1]
    assert ctx["insights"] and "width" in ctx["table"] and ctx["history"]


def test_llm_agent_spend_is_booked_separately():
    s = Surface("facts", seed=3)
    reply = json.dumps({"graph": {"model": "small", "width": 5, "depth": 1, "agg": "fuse"},
                        "updates": [{"factor": "model", "choice": "small", "delta": 1.5}], "reason": "pilot"})
    llm = ScriptedChatModel(default=f"Here is my answer:\n```json\n{reply}\n```", name="opt")
    agent = LLMOptimizerAgent(llm)
    m = AgentReinforce(s.space, agent=agent, seed=3, batch=1)
    evaluator = SurfaceEvaluator(s)
    Driver(m, evaluator, max_evals=6, progress=False).run()
    assert len(llm.calls) >= 1
    prompt = llm.calls[0][-1]["content"]
    assert "Insights" in prompt and "Probability table" in prompt and "Budget: 8" in prompt
    assert m.report()["optimizer_usage"]["calls"] == len(llm.calls)
    assert m.history.seen(s.space.homogeneous("small", 5, 1, agg="fuse"))


def test_parse_json_answer_is_lenient_but_strict_about_json():
    assert parse_json_answer('blah {"graph": {"width": 2}} trailing') == {"graph": {"width": 2}}
    assert parse_json_answer("```json\n{\"a\": 1}\n```") == {"a": 1}
    assert parse_json_answer("{not json}") is None
    assert parse_json_answer("") is None


def test_rule_agent_proposes_unseen_neighbours_within_budget():
    s = Surface("math")
    agent = RuleOptimizerAgent(s.space)
    start = s.space.homogeneous("medium", 2, 1)
    seen = {json.dumps(start, sort_keys=True)}
    ctx = {"ranked": [(0.5, start)], "seen": lambda c: json.dumps(c, sort_keys=True) in seen, "history": [],
           "preferred_model": "medium"}
    answer = json.loads(agent.respond(ctx))
    assert answer["graph"] == s.space.homogeneous("medium", 3, 1)  # width + 1 first
    assert {"factor": "model", "choice": "medium", "delta": 1.0} in answer["updates"]


def test_bench_reports_the_metrics():
    metrics = bench_run(quick=True, seeds=2, methods="agent-reinforce,random", max_evals=150)
    assert metrics["seeds"] == 4
    for key in ("evals_to_optimum_median_agent_reinforce", "evals_to_optimum_median_random", "evals_ratio_vs_random",
                "censored_share_random"):
        assert key in metrics
    assert metrics["evals_ratio_vs_random"] == round(
        metrics["evals_to_optimum_median_agent_reinforce"] / metrics["evals_to_optimum_median_random"], 4)


def test_objectives_trade_accuracy_for_compute():
    from ponder.errors import ConfigError
    from ponder.graphs.optimizer.objectives import Objective

    assert Objective("acc").score(0.6, cost=8, latency=4, budget=8) == 0.6
    assert Objective("acc-flops", 0.2).score(0.6, cost=8, latency=4, budget=8) == pytest.approx(0.4)
    assert Objective("acc-latency", 0.2).score(0.6, cost=8, latency=4, budget=8) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="unknown objective"):
        Objective("speed")
    # with a latency penalty the optimizer settles on a shallower graph than with accuracy alone
    s_acc, s_lat = Surface("math", seed=0), Surface("math", seed=0)
    acc = drive(make_method("agent-reinforce", s_acc.space, seed=0), s_acc, 40).best["config"]
    lat_eval = SurfaceEvaluator(s_lat, Objective("acc-latency", 0.5))
    lat = Driver(make_method("agent-reinforce", s_lat.space, seed=0), lat_eval, max_evals=40, progress=False).run().best["config"]
    assert s_lat.space.latency(lat) < s_acc.space.latency(acc)
