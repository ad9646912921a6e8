"""Compiling specs to LangGraph and running them: parallel branches, batching of same-model
calls, budgets, every node's output and usage."""

import random
import threading
import time

import pytest

from ponder.agents.solver import Query
from ponder.errors import BudgetExceeded
from ponder.graphs.compile import compile_graph
from ponder.graphs.spec import GraphSpec
from ponder.models.base import Completion, TokenLogprob
from ponder.models.scripted import ScriptedChatModel
from ponder.usage import Budget, Usage

MATH = Query("Tom has 3 apples and gets 4 more. How many apples does Tom have now?", kind="math")


def G(nodes, edges=()):
    return GraphSpec.from_dict({"nodes": nodes, "edges": [list(e) for e in edges]})


def test_vote_graph_returns_answer_outputs_and_usage():
    m = ScriptedChatModel(replies=["7", "The answer is 7.", "8"], name="m")
    spec = G([{"id": "g", "role": "generate", "model": "m", "n": 3, "temperature": 0.7},
              {"id": "v", "role": "select", "final": True}], [("g", "v")])
    result = compile_graph(spec, models={"m": m}).run(MATH)
    assert result.answer == "7"
    assert set(result.outputs) == {"g", "v"}
    assert [c["answer"] for c in result.outputs["g"]["candidates"]] == ["7", "7", "8"]
    assert result.outputs["v"]["tally"] == {"7": 2, "8": 1}
    assert result.usage.calls == 1  # n samples are one call
    measured = result.outputs["g"]["measured"]
    assert measured["completion_tokens"] == 1 + 4 + 1 and measured["calls"] == 1
    assert result.outputs["g"]["estimate"]["completion_tokens"] == 3 * 32  # worst case beside measured
    assert result.usage.to_dict()["completion_tokens"] == measured["completion_tokens"]


def test_independent_nodes_run_in_parallel():
    barrier = threading.Barrier(2, timeout=10)

    def meet(_messages):
        barrier.wait()  # only returns if both models are called at the same time
        return "7"

    a = ScriptedChatModel(default=meet, name="a")
    b = ScriptedChatModel(default=meet, name="b")
    spec = G([{"id": "x", "role": "generate", "model": "a"}, {"id": "y", "role": "generate", "model": "b"},
              {"id": "v", "role": "select", "final": True}], [("x", "v"), ("y", "v")])
    result = compile_graph(spec, models={"a": a, "b": b}).run(MATH)
    assert result.answer == "7" and not barrier.broken


def test_same_model_calls_are_batched_and_fan_in_waits():
    # greedy generators: calls that differ only in their (unused) seed share a batch
    m = ScriptedChatModel([(r"Proposed answers:\n1\. \d\n2\. \d\n3\. \d\n", "7")], replies=["7", "7", "9"], name="m")
    spec = G([{"id": f"g{i}", "role": "generate", "model": "m", "temperature": 0} for i in range(3)]
             + [{"id": "r", "role": "refine", "model": "m", "final": True}],
             [(f"g{i}", "r") for i in range(3)])
    graph = compile_graph(spec, models={"m": m}, batch_window=5.0)  # merging must not rely on the window
    result = graph.run(MATH)
    assert result.answer == "7"
    assert graph.batcher("m").batches == [3, 1]  # three parallel generators in one backend call
    assert result.usage.calls == 4


def test_run_many_batches_across_questions():
    m = ScriptedChatModel(default="7", name="m")
    spec = G([{"id": "g", "role": "generate", "model": "m"}, {"id": "f", "role": "fuse", "model": "m", "final": True}], [("g", "f")])
    graph = compile_graph(spec, models={"m": m}, batch_window=5.0)
    results = graph.run_many([MATH] * 4, concurrency=4)
    assert [r.answer for r in results] == ["7"] * 4
    assert sorted(graph.batcher("m").batches) == [4, 4]
    assert all(r.usage.calls == 2 for r in results)  # each run is charged its own calls


class SharedStream(ScriptedChatModel):
    """Samples like a real backend: every row of one call draws from one random stream seeded
    with the call's seed, so a call that shared a batch would get other rows' draws."""

    def __init__(self, delays=(), **kw):
        super().__init__(**kw)
        self.delays = list(delays)
        self.sizes = []

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        with self._lock:
            self.sizes.append(len(batch))
            delay = self.delays.pop(0) if self.delays else 0.0
        time.sleep(delay)  # injected: changes which calls are waiting together
        rng = random.Random(seed)
        return [[Completion(str(rng.randint(0, 9)), "stop", 1, 1) for _ in range(n)] for _ in batch]


def test_seeded_run_many_is_identical_whatever_the_thread_timing():
    spec = G([{"id": "g", "role": "generate", "model": "m", "n": 3, "temperature": 0.7},
              {"id": "v", "role": "select", "final": True}], [("g", "v")])
    queries = [MATH] * 6

    def samples(concurrency, window, delays):
        m = SharedStream(delays=delays, name="m")
        results = compile_graph(spec, models={"m": m}, batch_window=window).run_many(queries, concurrency=concurrency, seed=5)
        assert all(size == 1 for size in m.sizes)  # a seeded sampling call never shares a batch
        return [[c["answer"] for c in r.outputs["g"]["candidates"]] for r in results]

    alone = samples(1, 0.0, [])
    assert len({tuple(s) for s in alone}) > 1  # the queries' seeds differ, so their samples do
    assert samples(6, 5.0, []) == alone
    assert samples(3, 0.05, [0.05, 0.0, 0.1, 0.0, 0.02, 0.0]) == alone
    assert samples(6, 0.0, [0.0, 0.08, 0.0, 0.03]) == alone


def test_budget_is_enforced_before_the_call():
    m = ScriptedChatModel(default="7", name="m")
    spec = G([{"id": "a", "role": "generate", "model": "m"}, {"id": "b", "role": "refine", "model": "m"},
              {"id": "c", "role": "refine", "model": "m", "final": True}], [("a", "b"), ("b", "c")])
    with pytest.raises(BudgetExceeded) as err:
        compile_graph(spec, models={"m": m}).run(MATH, budget=Budget(calls=2))
    assert err.value.field == "calls"
    assert len(m.calls) == 2  # the third call was refused, not made


def test_outer_usage_sees_the_spend():
    m = ScriptedChatModel(default="7", name="m")
    spec = G([{"id": "a", "role": "generate", "model": "m", "final": True}])
    outer = Usage()
    compile_graph(spec, models={"m": m}).run(MATH, usage=outer)
    assert outer.calls == 1 and outer.completion_tokens == 1


def test_review_picks_the_verified_minority_answer():
    def verdict(messages):
        return "yes" if "Proposed answer: 7\n" in messages[-1]["content"] else "no"

    m = ScriptedChatModel([(r"Reply yes or no\.$", verdict)], replies=["8", "8", "7"], name="m")
    spec = G([{"id": "g", "role": "generate", "model": "m", "n": 3, "temperature": 0.7},
              {"id": "check", "role": "review", "model": "m", "final": True}], [("g", "check")])
    result = compile_graph(spec, models={"m": m}).run(MATH)
    assert result.answer == "7"
    assert result.outputs["check"]["scores"] == {"8": 0.0, "7": 1.0}
    assert result.usage.calls == 1 + 2  # distinct candidates are judged once each


class Confident(ScriptedChatModel):
    """Gives '9' a high token probability and '7' a low one."""

    def _generate_batch(self, batch, *, n, temperature, max_tokens, stop, logprobs, seed):
        rows = super()._generate_batch(batch, n=n, temperature=temperature, max_tokens=max_tokens, stop=stop,
                                       logprobs=logprobs, seed=seed)
        return [[Completion(c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens,
                            [TokenLogprob(c.text, -0.05 if c.text == "9" else -3.0)] if logprobs else None)
                 for c in row] for row in rows]


def test_weighted_vote_uses_sample_probabilities():
    nodes = [{"id": "g", "role": "generate", "model": "m", "n": 3, "temperature": 0.7}]
    for vote, expected in (("majority", "7"), ("weighted", "9")):
        m = Confident(replies=["7", "7", "9"], name="m")
        spec = G(nodes + [{"id": "v", "role": "select", "vote": vote, "final": True}], [("g", "v")])
        assert compile_graph(spec, models={"m": m}).run(MATH).answer == expected


def test_first_finish_takes_the_shortest_finished_sample():
    m = ScriptedChatModel(replies=["the total is 12 apples", "7", "it is 9"], name="m")
    spec = G([{"id": "g", "role": "generate", "model": "m", "n": 3, "temperature": 0.7},
              {"id": "f", "role": "first", "final": True}], [("g", "f")])
    assert compile_graph(spec, models={"m": m}).run(MATH).answer == "7"


def test_multiple_choice_parsing_reaches_the_vote():
    q = Query("Which animal barks?", kind="choice", choices=("cat", "dog", "cow", "fish"))
    m = ScriptedChatModel(replies=["B", "B) dog", "dog", "A"], name="m")
    spec = G([{"id": "g", "role": "generate", "model": "m", "n": 4, "temperature": 0.7},
              {"id": "v", "role": "select", "final": True}], [("g", "v")])
    result = compile_graph(spec, models={"m": m}).run(q)
    assert result.answer == "B"
    assert [c["answer"] for c in result.outputs["g"]["candidates"]] == ["B", "B", "B", "A"]


@pytest.mark.slow
def test_real_model_graph_run():
    from ponder.models.registry import load_model

    model = load_model("smollm2-135m")
    # greedy branches batch; seeded sampling branches would each run alone (their own random stream)
    spec = G([{"id": "g1", "role": "generate", "model": "smollm2-135m", "max_tokens": 4, "temperature": 0.0},
              {"id": "g2", "role": "generate", "model": "smollm2-135m", "max_tokens": 4, "temperature": 0.0},
              {"id": "v", "role": "select", "final": True}], [("g1", "v"), ("g2", "v")])
    graph = compile_graph(spec, models={"smollm2-135m": model}, batch_window=5.0)
    result = graph.run(MATH, seed=1)
    assert graph.batcher("smollm2-135m").batches == [2]  # both branches in one padded batch
    for node in ("g1", "g2"):
        out = result.outputs[node]
        assert 1 <= out["measured"]["completion_tokens"] <= 4
        assert out["measured"]["prompt_tokens"] > 20
        assert out["candidates"][0]["text"]
    assert result.usage.calls == 2 and result.usage.flops > 0
    assert isinstance(result.answer, str)
