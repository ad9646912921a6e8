"""GraphSpec parsing and validation: every error names the node or edge at fault."""

import json

import pytest

from ponder.errors import ConfigError, ModelNotFound
from ponder.graphs.spec import GraphSpec


def spec(nodes, edges=()):
    return {"nodes": nodes, "edges": [list(e) for e in edges]}


GOOD = spec(
    [{"id": "a", "role": "generate", "model": "m", "n": 3, "temperature": 0.7},
     {"id": "b", "role": "generate", "model": "m"},
     {"id": "v", "role": "select", "vote": "weighted", "final": True}],
    [("a", "v"), ("b", "v")],
)


def test_round_trip_and_queries():
    s = GraphSpec.from_dict(GOOD)
    assert s.final.id == "v"
    assert s.predecessors("v") == ["a", "b"]
    assert s.levels() == {"a": 0, "b": 0, "v": 1}
    again = GraphSpec.from_dict(json.loads(s.to_json()))
    assert again.key() == s.key()
    assert again.node("a").n == 3 and again.node("v").vote == "weighted"


def test_key_ignores_order():
    a = GraphSpec.from_dict(GOOD)
    shuffled = {"nodes": list(reversed(GOOD["nodes"])), "edges": list(reversed(GOOD["edges"]))}
    assert GraphSpec.from_dict(shuffled).key() == a.key()


@pytest.mark.parametrize(
    "data, needle",
    [
        (spec([{"id": "a", "role": "generate", "model": "m"}]), "exactly one node must be final, found 0"),
        (spec([{"id": "a", "role": "generate", "model": "m", "final": True},
               {"id": "b", "role": "fuse", "model": "m", "final": True}], [("a", "b")]), "found 2 (a, b)"),
        (spec([{"id": "a", "role": "generate", "model": "m", "final": True}], [("a", "zz")]), "edge a -> zz names unknown node 'zz'"),
        (spec([{"id": "a", "role": "refine", "model": "m"}, {"id": "b", "role": "refine", "model": "m", "final": True}],
              [("a", "b"), ("b", "a")]), "cycle"),
        (spec([{"id": "a", "role": "summon", "model": "m", "final": True}]), "node 'a': role: input should be 'generate'"),
        (spec([{"id": "a", "role": "generate", "final": True}]), "node 'a': role generate needs a 'model'"),
        (spec([{"id": "a", "role": "generate", "model": "m"}, {"id": "v", "role": "select", "model": "m", "final": True}],
              [("a", "v")]), "node 'v': role select uses no model"),
        (spec([{"id": "a", "role": "generate", "model": "m", "n": 0, "final": True}]), "node 'a': n: input should be greater than or equal to 1, got 0"),
        (spec([{"id": "a", "role": "generate", "model": "m", "n": "x", "final": True}]), "node 'a': n: input should be a valid integer, got 'x'"),
        (spec([{"id": "a", "role": "generate", "model": "m", "final": True}, {"id": "a", "role": "generate", "model": "m"}]),
         "node id 'a' is used twice"),
        (spec([{"id": "a", "role": "generate", "model": "m"}, {"id": "b", "role": "generate", "model": "m", "final": True}]),
         "node 'a' never reaches the final node 'b'"),
        (spec([{"id": "r", "role": "refine", "model": "m", "final": True}]), "node 'r' (role refine) needs at least one incoming edge"),
        (spec([{"id": "a", "role": "generate", "model": "m", "final": True, "colour": "red"}]), "node 'a': unknown key 'colour'"),
        (spec([{"id": "a", "role": "generate", "model": "m", "final": True}], [("a", "a")]), "self-loop"),
        (spec([{"id": "a", "role": "generate", "model": "m"}, {"id": "v", "role": "select", "vote": "loud", "final": True}],
              [("a", "v")]), "node 'v': vote: input should be 'majority' or 'weighted', got 'loud'"),
        ({"nodes": []}, "'nodes': list should have at least 1 item"),
        ({"nodes": [{"id": "a", "role": "generate", "model": "m", "final": True}], "edgez": []}, "unknown top-level key"),
    ],
)
def test_invalid_specs_name_the_culprit(data, needle):
    with pytest.raises(ConfigError) as err:
        GraphSpec.from_dict(data, where="my.json")
    assert needle in str(err.value)
    assert str(err.value).startswith("my.json")


def test_cycle_error_lists_the_cycle():
    data = spec([{"id": "g", "role": "generate", "model": "m"},
                 {"id": "a", "role": "refine", "model": "m"}, {"id": "b", "role": "refine", "model": "m"},
                 {"id": "f", "role": "fuse", "model": "m", "final": True}],
                [("g", "a"), ("a", "b"), ("b", "a"), ("b", "f")])
    with pytest.raises(ConfigError, match=r"cycle through (a -> b -> a|b -> a -> b)"):
        GraphSpec.from_dict(data)


def test_load_json_yaml_and_result_files(tmp_path):
    (tmp_path / "g.json").write_text(json.dumps(GOOD))
    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {id: a, role: generate, model: m}\n  - {id: f, role: fuse, model: m, final: true}\nedges:\n  - a -> f\n")
    (tmp_path / "best.json").write_text(json.dumps({"graph": GOOD, "score": 0.5}))
    assert GraphSpec.load(tmp_path / "g.json").final.id == "v"
    assert GraphSpec.load(tmp_path / "g.yaml").edges == (("a", "f"),)
    assert GraphSpec.load(tmp_path / "best.json").final.id == "v"
    (tmp_path / "bad.json").write_text("{nodes: ")
    with pytest.raises(ConfigError, match="bad.json: not valid JSON"):
        GraphSpec.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="not found"):
        GraphSpec.load(tmp_path / "missing.json")


def test_unknown_model_is_named_with_its_node():
    s = GraphSpec.from_dict(spec([{"id": "solo", "role": "generate", "model": "no-such-model", "final": True}]))
    with pytest.raises(ModelNotFound, match="node 'solo': unknown model 'no-such-model'"):
        s.check_models()
    with pytest.raises(ConfigError, match="node 'solo' uses unknown model"):
        s.validate(known_models=["smollm2-135m"])


def test_bad_fields_in_a_file_name_the_file_the_node_and_the_field(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("nodes:\n  - {id: a, role: generate, model: m, temperature: 3}\n  - {id: f, role: fuse, model: m, final: true}\n"
                    "edges:\n  - [a]\n")
    with pytest.raises(ConfigError) as err:
        GraphSpec.load(path)
    text = str(err.value)
    assert text.startswith(f"{path}: node 'a': temperature: input should be less than or equal to 2, got 3")
    assert "edges[0]: must be [from, to]" in text  # every problem is listed, not only the first


def test_a_spec_built_in_python_is_checked_by_the_same_field_rules():
    from ponder.graphs.spec import NodeSpec

    bad = GraphSpec((NodeSpec("x", "generate", "m", n=99, final=True),))
    with pytest.raises(ConfigError, match=r"^built: node 'x': n: input should be less than or equal to 64, got 99"):
        bad.validate(where="built")
    with pytest.raises(ConfigError, match=r"node 'x y': id: string should match pattern"):
        GraphSpec((NodeSpec("x y", "generate", "m", final=True),)).validate(where="built")
