"""Test-time strategies as graph presets, and the cost model that prices them."""

import pytest

from ponder.agents.solver import Query
from ponder.errors import ConfigError
from ponder.graphs import strategies as S
from ponder.graphs.compile import compile_graph
from ponder.graphs.cost import CostModel
from ponder.graphs.spec import GraphSpec
from ponder.models.scripted import ScriptedChatModel

MATH = Query("Ann has 9 pens and gives away 4. How many pens does Ann have left?", kind="math")


def scripted():
    def verdict(messages):
        return "yes" if "Proposed answer: 5\n" in messages[-1]["content"] else "no"

    return ScriptedChatModel([(r"Reply yes or no\.$", verdict), (r"Proposed answers:|Candidate answers:", "5")],
                             replies=["5", "6", "5", "4", "5 pens"], name="m")


@pytest.mark.parametrize("name, options, calls", [
    ("single", {}, 1),
    ("self-consistency", {"n": 5}, 1),
    ("self-consistency", {"n": 5, "vote": "weighted"}, 1),
    ("sample-verify", {"n": 4}, 1 + 3),  # 4 samples, 3 distinct answers judged
    ("refinement", {"steps": 2}, 3),
    ("hybrid", {"width": 3, "steps": 2}, 5),
    ("first-finish", {"n": 3}, 1),
])
def test_every_strategy_runs_and_answers(name, options, calls):
    spec = S.preset(name, "m", **options)
    result = compile_graph(spec, models={"m": scripted()}).run(MATH)
    assert result.answer == "5"
    assert result.usage.calls == calls
    assert spec.final.id in result.outputs


def test_strategy_shapes():
    h = S.hybrid("m", width=3, steps=2)
    assert h.levels() == {"gen1": 0, "gen2": 0, "gen3": 0, "refine1": 1, "refine2": 2}
    assert sorted(h.predecessors("refine1")) == ["gen1", "gen2", "gen3"]
    b = S.sample_verify("m", 4, verifier="judge")
    assert b.node("verify").model == "judge" and b.final.id == "verify"
    assert S.self_consistency("m", 5, vote="weighted").node("vote").vote == "weighted"


def test_bad_strategy_options_are_config_errors():
    with pytest.raises(ConfigError, match="unknown graph preset 'beam-me-up'"):
        S.preset("beam-me-up", "m")
    with pytest.raises(ConfigError, match="hybrid needs width >= 1"):
        S.preset("hybrid", "m", width=0)
    with pytest.raises(ConfigError, match="graph preset self-consistency"):
        S.preset("self-consistency", "m", colour="red")


def test_preset_names_are_typed_and_the_former_best_of_n_name_still_works():
    from typing import get_args

    assert tuple(S.GRAPH_PRESETS) == get_args(S.GraphPreset)
    old = S.preset("best-of-n", "m", n=3)
    assert old.name == "sample-verify" and old.key() == S.sample_verify("m", 3).key()
    # the web strategies are a different table with its own names
    from ponder.graphs.web_agent import WEB_STRATEGIES

    assert "sample-verify" not in WEB_STRATEGIES and set(S.GRAPH_PRESETS).isdisjoint({"greedy", "best-first"})


def test_cost_model_units_and_in_degree():
    cm = CostModel(parameters={"s": 100, "l": 300}, base_prompt_tokens=80, unit_max_tokens=32)
    single = S.single("s", max_tokens=32)
    assert cm.estimate(single).units == pytest.approx(1.0)  # one call of the smallest model
    assert cm.estimate(S.single("l", max_tokens=32).with_models({})).units == pytest.approx(1.0)  # pool = its own models
    cm_pool = CostModel(parameters={"s": 100, "l": 300}, base_prompt_tokens=80, unit_max_tokens=32, pool=("s", "l"))
    assert cm_pool.estimate(S.single("l", max_tokens=32)).units == pytest.approx(3.0)
    sc = cm_pool.estimate(S.self_consistency("s", 4, max_tokens=32))
    assert sc.units == pytest.approx(4.0) and sc.nodes["vote"].units == 0
    # a refiner reading k answers pays for them in its prompt: cost grows with in-degree
    wide = cm_pool.estimate(S.hybrid("s", width=4, steps=1, max_tokens=32)).nodes["refine1"]
    narrow = cm_pool.estimate(S.hybrid("s", width=1, steps=1, max_tokens=32)).nodes["refine1"]
    assert wide.prompt_tokens == 80 + 4 * 32 and narrow.prompt_tokens == 80 + 32
    assert wide.units > narrow.units
    # latency follows the critical path, not the sum
    par = cm_pool.estimate(S.hybrid("s", width=4, steps=1, max_tokens=32))
    assert par.latency < sum(n.latency for n in par.nodes.values())


def test_cost_model_needs_known_parameters():
    spec = GraphSpec.from_dict({"nodes": [{"id": "a", "role": "generate", "model": "openai:x@http://127.0.0.1:1/v1", "final": True}]})
    with pytest.raises(ConfigError, match="has no parameter count"):
        CostModel().estimate(spec)


def test_collab_demo_with_a_scripted_model(monkeypatch):
    import io

    from rich.console import Console

    from ponder.graphs.collab_demo import collab_demo
    from ponder.models import registry

    m = ScriptedChatModel(default="9", name="demo-model")
    monkeypatch.setattr(registry, "load_model", lambda name=None, **kw: m)
    buf = io.StringIO()
    collab_demo(Console(file=buf, width=150), "demo-model")
    text = buf.getvalue()
    assert "self-consistency" in text and "hybrid" in text
    # the hybrid's three parallel answers are seeded samples: each its own call (own random stream)
    assert "backend calls [1, 1, 1, 1]" in text
