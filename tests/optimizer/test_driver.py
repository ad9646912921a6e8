"""The optimisation driver: resumable state, evaluation cache, successive halving, and real
graph evaluations through the task evaluator."""

import json

import pytest

from ponder.errors import ConfigError
from ponder.graphs.cost import CostModel
from ponder.graphs.optimizer.cache import EvalCache
from ponder.graphs.optimizer.evaluate import SurfaceEvaluator, TaskEvaluator
from ponder.graphs.optimizer.halving import successive_halving
from ponder.graphs.optimizer.run import Driver, make_method
from ponder.graphs.optimizer.space import LayeredGraphSpace, config_key
from ponder.graphs.optimizer.surface import Surface
from ponder.graphs.optimizer.tasks.synthetic import SyntheticTask
from ponder.models.scripted import ScriptedChatModel


class CountingSurface(SurfaceEvaluator):
    def __init__(self, surface):
        super().__init__(surface)
        self.calls = 0

    def evaluate(self, config, items=None):
        self.calls += 1
        return super().evaluate(config, items)


@pytest.mark.parametrize("method", ["agent-reinforce", "reinforce", "tpe"])
def test_resume_replays_without_re_evaluating(tmp_path, method):
    state = tmp_path / "best.json.state.json"
    settings = {"method": method, "seed": 4}
    straight = Driver(make_method(method, Surface("math", seed=9).space, seed=4), SurfaceEvaluator(Surface("math", seed=9)),
                      max_evals=16, progress=False).run()

    first_eval = CountingSurface(Surface("math", seed=9))
    Driver(make_method(method, first_eval.space, seed=4), first_eval, max_evals=7, state_path=state,
           settings=settings, progress=False).run()
    assert json.loads(state.read_text())["evaluations_used"] == 7

    # a new process: the surface's noise continues from where the first run stopped
    second_surface = Surface("math", seed=9)
    for _ in range(first_eval.calls):
        second_surface.evaluate(second_surface.optimum()[1])
    second_eval = CountingSurface(second_surface)
    resumed = Driver(make_method(method, second_eval.space, seed=4), second_eval, max_evals=16, state_path=state,
                     settings=settings, progress=False).run()
    assert resumed.resumed_batches >= 1
    assert second_eval.calls == 16 - 7  # the first 7 came from the state file
    keys = [config_key(r["config"]) for r in resumed.history]
    assert len(keys) == 16
    assert keys[:7] == [config_key(r["config"]) for r in straight.history][:7]


def test_state_from_other_settings_is_refused(tmp_path):
    state = tmp_path / "s.json"
    ev = SurfaceEvaluator(Surface("facts"))
    Driver(make_method("random", ev.space), ev, max_evals=2, state_path=state, settings={"seed": 1}, progress=False).run()
    with pytest.raises(ConfigError, match="belongs to a run with other settings"):
        Driver(make_method("random", ev.space), ev, max_evals=4, state_path=state, settings={"seed": 2}, progress=False).run()


def test_successive_halving_spends_less_on_weak_graphs():
    seen = []

    class Ev:
        def __init__(self, score, items):
            self.score, self.items = score, items

    quality = {i: i / 10 for i in range(8)}

    def evaluate(config, n):
        seen.append((config["id"], n))
        return Ev(quality[config["id"]], n)

    out = successive_halving([{"id": i} for i in range(8)], evaluate, items=8, min_items=1)
    assert [e.items for e in out].count(8) == 1 and out[7].items == 8  # only the best gets the full minibatch
    deepest = {}
    for cid, n in seen:  # with the cache, a config's cost is its largest prefix
        deepest[cid] = max(deepest.get(cid, 0), n)
    assert sum(deepest.values()) < 8 * 8 / 2


def make_task_space():
    return LayeredGraphSpace(("good", "bad"), 6, max_width=3, max_depth=2,
                             cost_model=CostModel({"good": 200, "bad": 100}, 90, 8, ("good", "bad")), max_tokens=8)


def oracle(task):
    answers = {it.query.text: it.answer for it in task.items}
    return ScriptedChatModel(default=lambda m: next((a for q, a in answers.items() if q in m[-1]["content"]), "0"),
                             name="good", parameters=200)


def test_task_evaluator_runs_graphs_and_caches_by_graph_and_item(tmp_path):
    task = SyntheticTask(10, seed=1)
    good, bad = oracle(task), ScriptedChatModel(default="1", name="bad", parameters=100)
    space = make_task_space()
    cache_path = tmp_path / "cache.jsonl"
    ev = TaskEvaluator(space, task, minibatch=6, models={"good": good, "bad": bad}, cache=EvalCache(cache_path))
    strong = space.homogeneous("good", 2, 1)
    weak = space.homogeneous("bad", 1, 1)
    a = ev.evaluate(strong)
    assert a.accuracy == 1.0 and a.new_items == 6 and a.usage["calls"] == 6 * 2
    assert ev.evaluate(weak).accuracy < 0.5
    calls = len(good.calls)
    again = ev.evaluate(strong, items=3)
    assert again.new_items == 0 and len(good.calls) == calls  # cached
    # the cache survives a restart
    ev2 = TaskEvaluator(space, task, minibatch=6, models={"good": good, "bad": bad}, cache=EvalCache(cache_path))
    assert ev2.evaluate(strong).new_items == 0 and len(good.calls) == calls


def test_optimizer_finds_the_good_model_on_the_synthetic_task():
    task = SyntheticTask(12, seed=2)
    good, bad = oracle(task), ScriptedChatModel(default="1", name="bad", parameters=100)
    space = make_task_space()
    ev = TaskEvaluator(space, task, minibatch=6, models={"good": good, "bad": bad})
    result = Driver(make_method("agent-reinforce", space, seed=0), ev, max_evals=6, progress=False, halving=True).run()
    assert result.best["accuracy"] == 1.0
    assert set(space.summary(result.best["config"])["models"]) == {"good"}
    assert result.evaluations_used <= 6 + 1e-9
