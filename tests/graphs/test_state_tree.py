"""Search-tree nodes are TreeNode records that serialise to the trace JSON traces always had."""

from __future__ import annotations

import json

import pytest

from ponder.agents.web_actor import ActorConfig
from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, buy_task, price_task, scripted_web_model
from ponder.errors import ConfigError
from ponder.graphs.state_tree import TreeNode, lineage, subtree
from ponder.graphs.trace import load_trace, trace_nodes, write_trace
from ponder.graphs.web_agent import WebAgentConfig, run_web

#: The keys every node of a trace has had since traces were written (the viewer reads them).
BASE_KEYS = {"id", "parent", "action", "depth", "path", "url", "digest", "excerpt", "error", "done", "answer",
             "destructive", "env_error", "value", "values", "candidates", "t"}
OPTIONAL_KEYS = {"dist", "expanded", "deferred", "deferred_until_commit", "frequency", "tail", "traj"}


def _run(strategy, env=None, task=None, **cfg):
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    return run_web(env or ToyEnv(), task or price_task(), model, strategy=strategy,
                   config=WebAgentConfig(actor=ActorConfig(n=5), **cfg))


@pytest.mark.parametrize("strategy", ["greedy", "recheck", "best-first", "best-of-n"])
def test_state_holds_records_and_the_trace_holds_their_json(strategy, tmp_path):
    result = _run(strategy, trajectories=2)
    assert all(isinstance(n, TreeNode) for n in result.state["nodes"].values())
    for node in result.trace["nodes"]:
        assert BASE_KEYS <= set(node) <= BASE_KEYS | OPTIONAL_KEYS
        # an optional key is written only where it is set
        assert all(node[k] is not None and node[k] is not False for k in set(node) & OPTIONAL_KEYS)
    # the trace file reads back to the same records
    loaded = load_trace(write_trace(result.trace, tmp_path / "t.json"))
    assert [n.to_dict() for n in trace_nodes(loaded)] == json.loads(json.dumps(result.trace["nodes"]))


def test_best_of_n_keeps_trajectory_zero_in_the_trace():
    result = _run("best-of-n", trajectories=2)
    trajs = {n.get("traj") for n in result.trace["nodes"][1:]}
    assert trajs == {0, 1}  # traj 0 is set, not dropped as a false value


def test_search_records_carry_their_typed_optional_fields():
    result = _run("best-first", env=ToyEnv(can_snapshot=False, server_resets=False), task=buy_task(),
                  value_budget=10, branching=3, depth=4)
    nodes = result.state["nodes"]
    assert any(n.expanded for n in nodes.values()) and any(n.deferred for n in nodes.values())
    assert all(n.frequency and n.frequency >= 1 for n in nodes.values() if n.parent is not None and not n.tail)
    leaf = nodes[result.trace["committed"][-1]]
    assert [n.id for n in lineage(nodes, leaf)] == result.trace["committed"]
    assert set(subtree(nodes, "n0")) == set(nodes)


def test_records_are_immutable_and_bad_trace_nodes_are_named():
    node = TreeNode("n0", None, None, 0, [])
    with pytest.raises(AttributeError):
        node.value = 1.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"t.json: nodes\[0\]: node 'n0': unknown key\(s\) \['colour'\]"):
        trace_nodes({"nodes": [{**node.to_dict(), "colour": "red"}]}, where="t.json")
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['depth', 'path'\]"):
        TreeNode.from_dict({"id": "n1", "parent": "n0", "action": "click [1]"})
