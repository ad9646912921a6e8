"""The search spaces and the probabilistic graph: valid specs within budget, clear errors."""

import random

import numpy as np
import pytest

from ponder.errors import ConfigError
from ponder.graphs.cost import CostModel
from ponder.graphs.optimizer.space import LayeredGraphSpace, ProbabilisticGraph, StagedSpace
from ponder.graphs.spec import GraphSpec, NodeSpec

PARAMS = {"s": 100, "m": 200, "l": 600}


def layered(budget=10.0, **kw):
    return LayeredGraphSpace(("s", "m", "l"), budget, max_width=4, max_depth=3,
                             cost_model=CostModel(PARAMS, 80, 16, ("s", "m", "l")), max_tokens=16, **kw)


@pytest.mark.parametrize("granularity", ["node", "layer"])
def test_samples_are_valid_specs_within_budget(granularity):
    space = layered(granularity=granularity)
    pg = ProbabilisticGraph(space, seed=3)
    shapes = set()
    for _ in range(60):
        c = pg.sample()
        spec = space.to_spec(c)  # validates
        assert space.cost(c) <= space.budget + 1e-9
        assert space.is_valid(c)
        shapes.add((c["width"], c["depth"]))
        assert spec.final.id in {n.id for n in spec.nodes}
    assert len(shapes) >= 4  # the sampler explores shapes


def test_layered_spec_shape():
    space = layered(budget=100)
    c = space.homogeneous("m", 3, 2, agg="fuse", edges="column")
    spec = space.to_spec(c)
    assert [n.role for n in spec.nodes].count("generate") == 3
    assert [n.role for n in spec.nodes].count("refine") == 3
    assert spec.predecessors("n1_2") == ["n0_2"]  # column edges
    assert spec.final.role == "fuse" and spec.final.model == "m"
    full = space.to_spec(space.homogeneous("m", 3, 2))
    assert sorted(full.predecessors("n1_0")) == ["n0_0", "n0_1", "n0_2"]
    assert space.cost(space.homogeneous("m", 3, 2)) > space.cost(space.homogeneous("m", 3, 2, edges="column"))
    one = space.to_spec(space.homogeneous("s", 1, 1))
    assert len(one.nodes) == 1 and one.final.role == "generate"


def test_budget_too_small_is_a_clear_error():
    space = layered(budget=0.5)
    with pytest.raises(ConfigError, match=r"budget 0.5 is too small for any graph: the cheapest .* costs 1.00 units"):
        space.check_budget()
    with pytest.raises(ConfigError, match="too small"):
        ProbabilisticGraph(space).sample(tries=5)


def test_from_answer_validates():
    space = layered(budget=20)
    assert space.from_answer({"model": "m", "width": "2", "depth": 1, "agg": "vote"}) == space.homogeneous("m", 2, 1)
    for bad, msg in [({"model": "gpt-9", "width": 2, "depth": 1}, "not in the pool"),
                     ({"model": "m", "width": 9, "depth": 1}, "outside"),
                     ({"model": "m", "width": "two", "depth": 1}, "width must be an integer"),
                     ({"width": 1, "depth": 1, "model0.0": "zz"}, "not one of"),
                     ({"width": 1, "depth": 1}, "missing factor model0.0"),
                     ({"width": 1, "depth": 1, "model0.0": "s", "colour": 1}, "unknown factor")]:
        with pytest.raises(ValueError, match=msg):
            space.from_answer(bad)


def test_reinforce_gradient_moves_toward_a_config():
    space = layered(budget=100)
    pg = ProbabilisticGraph(space, seed=0)
    target = space.homogeneous("l", 2, 1)
    before = pg.probs("width")[1]
    for _ in range(5):
        pg.step(pg.log_prob_grad(target), 1.0)
    assert pg.probs("width")[1] > before + 0.3
    assert pg.probs("model0.0")[2] > 0.5
    assert np.isclose(pg.probs("depth").sum(), 1.0)
    # factors the config leaves inactive get no gradient
    assert "model2.3" not in pg.log_prob_grad(target)
    table = pg.table()
    assert set(table) >= {"width", "depth", "agg", "model", "edge"}
    assert table["model"]["l"] > table["model"]["s"]


def test_staged_space_and_pilot():
    def build(c):
        return GraphSpec((NodeSpec("p", "generate", c["propose.model"], n=c["propose.n"], temperature=0.7, max_tokens=16),
                          NodeSpec("j", "review", c["judge.model"], n=c["judge.n"], max_tokens=16, final=True)),
                         (("p", "j"),)).validate()

    space = StagedSpace(("propose", "judge"), ("s", "m"), 12.0, builder=build, samples=(1, 2, 4),
                        cost_model=CostModel(PARAMS, 80, 16))
    pilots = space.pilot_configs()
    assert {p["propose.model"] for p in pilots} == {"s", "m"}
    assert all(space.within_budget(p) for p in pilots)
    rng = random.Random(0)
    c = space.complete({}, rng)
    assert space.is_valid(c)
    moves = space.neighbours({"propose.model": "s", "propose.n": 2, "judge.model": "s", "judge.n": 1})
    assert {"propose.model": "s", "propose.n": 4, "judge.model": "s", "judge.n": 1} in moves
    assert {"propose.model": "m", "propose.n": 2, "judge.model": "s", "judge.n": 1} in moves
    assert space.from_answer({"propose": {"model": "m", "n": 2}, "judge": {"model": "s", "n": "1"}})["judge.n"] == 1
