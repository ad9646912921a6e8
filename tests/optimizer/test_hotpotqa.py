"""HotpotQA as a two-stage task: per-stage model and sample counts, retrieval in the graph."""

import pytest

from ponder.graphs.cost import CostModel
from ponder.graphs.optimizer.evaluate import TaskEvaluator
from ponder.graphs.optimizer.run import Driver, make_method
from ponder.models.scripted import ScriptedChatModel
from ponder.retrieval.datasets import default_data_dir

pytestmark = pytest.mark.skipif(not (default_data_dir() / "hotpotqa" / "questions.json").is_file(),
                                reason="needs ../shared/data/hotpotqa (or $PONDER_DATA)")


def test_two_stage_graph_retrieves_then_answers():
    from ponder.graphs.compile import compile_graph
    from ponder.graphs.optimizer.tasks.hotpotqa import HotpotQATask

    task = HotpotQATask(4, seed=1)
    item = task.items[0]
    spec = task.build({"retrieve.model": "q", "retrieve.n": 2, "answer.model": "a", "answer.n": 3})
    assert [n.role for n in spec.nodes] == ["retrieve", "generate", "select"]
    writer = ScriptedChatModel(replies=["first query", "second query"], name="q")
    gold = item.answer

    def answer(messages):
        return gold if "Context:" in messages[-1]["content"] else "no idea"

    reader = ScriptedChatModel(default=answer, name="a")
    graph = compile_graph(spec, models={"q": writer, "a": reader}, retriever=task.retriever())
    result = graph.run(item.query)
    out = result.outputs["retrieve"]
    assert out["queries"] == [item.query.text, "first query", "second query"]
    assert 1 <= len(out["passages"]) <= 3 * task.k
    assert result.usage.retrievals == 3
    assert result.answer == gold and task.score(item, result.answer) == 1.0
    est = graph.estimate.nodes["answer"]
    assert est.prompt_tokens == 3 * (graph.cost_model.base_prompt_tokens + 3 * task.k * 100)  # passages are in its prompt


def test_per_stage_budget_search_prefers_the_better_reader():
    from ponder.graphs.optimizer.tasks.hotpotqa import HotpotQATask

    task = HotpotQATask(6, seed=2)
    golds = {it.query.text: it.answer for it in task.items}

    def good(messages):
        return next((a for q, a in golds.items() if q in messages[-1]["content"]), "x")

    models = {"cheap": ScriptedChatModel(default="wrong", name="cheap", parameters=100),
              "smart": ScriptedChatModel(default=good, name="smart", parameters=200)}
    cm = CostModel({"cheap": 100, "smart": 200}, task.prompt_tokens, 12, ("cheap", "smart"))
    space = task.make_space(("cheap", "smart"), 40.0, cost_model=cm)
    ev = TaskEvaluator(space, task, minibatch=4, models=models)
    result = Driver(make_method("agent-reinforce", space, seed=0), ev, max_evals=8, progress=False).run()
    best = space.summary(result.best["config"])
    assert best["answer"]["model"] == "smart" and result.best["accuracy"] == 1.0
    assert all(space.within_budget(r["config"]) for r in result.history)
