"""The bench's response surface: a known optimum, and the shape the paper reports."""

import random

import pytest

from ponder.graphs.optimizer.surface import Surface


@pytest.mark.parametrize("task", ["math", "facts"])
def test_enumerated_optimum_is_not_beaten_by_search(task):
    s = Surface(task)
    best, config = s.optimum()
    assert s.space.within_budget(config)
    rng = random.Random(1)
    top = 0.0
    for _ in range(3000):  # random graphs, mixed models included
        c = s.space.complete({}, rng)
        if s.space.within_budget(c):
            top = max(top, s.true_score(c))
    assert top <= best + 1e-12
    for n in s.space.neighbours(config):  # and no neighbour beats it
        if s.space.within_budget(n):
            assert s.true_score(n) <= best + 1e-12


def best_width(s, model, depth):
    scores = {w: s.true_score(s.space.homogeneous(model, w, depth)) for w in range(1, s.space.max_width + 1)}
    return max(scores, key=scores.get), scores


def test_width_and_depth_have_interior_optima_that_interact():
    s = Surface("math")
    w1, scores1 = best_width(s, "medium", 1)
    w2, _ = best_width(s, "medium", 2)
    assert 1 < w1 < s.space.max_width  # non-monotonic in width
    assert scores1[w1] > scores1[1] and scores1[w1] > scores1[s.space.max_width]
    assert w2 < w1  # deeper graphs want fewer parallel branches
    by_depth = [s.true_score(s.space.homogeneous("medium", 3, d)) for d in (1, 2, 3)]
    assert by_depth[1] > by_depth[0] and by_depth[1] > by_depth[2]  # non-monotonic in depth


def test_model_preference_depends_on_the_task():
    assert Surface("math").optimum()[1]["model0"] == "medium"
    assert Surface("facts").optimum()[1]["model0"] == "small"


def test_evaluations_are_noisy_around_the_true_score():
    s = Surface("facts", items=32, seed=5)
    c = s.optimum()[1]
    draws = [s.evaluate(c) for _ in range(200)]
    mean = sum(draws) / len(draws)
    assert abs(mean - s.true_score(c)) < 0.03
    assert len(set(draws)) > 3
    assert s.evaluations == 200
