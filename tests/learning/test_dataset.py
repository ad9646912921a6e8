"""The state dataset: Monte Carlo targets, Hugging Face loading, and clear errors for an empty,
truncated or mismatched dataset that never lose what was collected."""

import json

import pytest

from ponder.errors import ConfigError
from ponder.learning.collect import Split, parse_seeds
from ponder.learning.dataset import build_dataset, load_states, mc_targets, shard_files

from .helpers import make_collection


def test_mc_targets_discount_and_pool_equivalent_states():
    states = {(): {"reward": 0.0, "observation": "A"}, ("a",): {"reward": 0.0, "observation": "B"},
              ("a", "b"): {"reward": 1.0, "observation": "C"}, ("c",): {"reward": 0.0, "observation": "D"},
              ("d",): {"reward": 0.0, "observation": "B"}}  # ("d",) shows the same page as ("a",)
    t = mc_targets(states, 0.5)
    assert t[("a", "b")][0] == 1.0
    assert t[("a",)][:2] == (0.25, True)  # pooled with ("d",): (0.5 + 0) / 2
    assert t[("d",)][0] == t[("a",)][0]
    assert t[("c",)][:2] == (0.0, False)
    assert t[()][0] == pytest.approx(0.25 / 3, abs=1e-5)  # three leaves: 0.25, 0, 0 (rounded to 6 places)


def test_shards_load_with_hugging_face_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = make_collection(tmp_path / "c")
    rows, meta = load_states(folder)
    assert len(rows) == 12 and meta["split"]["role"] == "train"
    ds = datasets.load_dataset("json", data_files=[str(p) for p in shard_files(folder)], split="train")
    assert ds.num_rows == 12
    solved = [r for r in rows if r["reward"] > 0]
    assert all(r["value_target"] == 1.0 and r["success_reachable"] for r in solved)
    start = [r for r in rows if not r["history"]]
    assert all(r["children"] == ["click [2]", "click [3]"] and 0 < r["value_target"] < 1 for r in start)


def test_empty_dataset_is_named(tmp_path):
    folder = make_collection(tmp_path / "c")
    for p in shard_files(folder):
        p.unlink()
    with pytest.raises(ConfigError, match="no shards .*empty"):
        load_states(folder)
    (folder / "data" / "states-00000.jsonl").write_text("")
    with pytest.raises(ConfigError, match="states-00000.jsonl.*no rows"):
        load_states(folder)


def test_truncated_shard_is_named_and_rebuilt_from_raw(tmp_path):
    folder = make_collection(tmp_path / "c")
    shard = shard_files(folder)[0]
    raw_before = (folder / "raw" / "states.jsonl").read_bytes()
    shard.write_bytes(shard.read_bytes()[:-40])  # a cut-off last line
    with pytest.raises(ConfigError, match=f"{shard.name}.*truncated"):
        load_states(folder)
    assert (folder / "raw" / "states.jsonl").read_bytes() == raw_before  # nothing collected is lost
    build_dataset(folder)
    assert len(load_states(folder)[0]) == 12


def test_torn_raw_record_keeps_every_whole_one(tmp_path):
    folder = make_collection(tmp_path / "c")
    raw = folder / "raw" / "states.jsonl"
    with open(raw, "a") as fh:
        fh.write('{"run": "test", "task": "click-butt')  # a writer killed mid-line
    from ponder.files import JsonlWriter

    JsonlWriter(raw)  # what the next collection run opens: the torn tail is set aside
    assert raw.with_name(raw.name + ".torn").exists()
    build_dataset(folder)
    assert len(load_states(folder)[0]) == 12


def test_mismatched_rows_and_metadata_are_named(tmp_path):
    folder = make_collection(tmp_path / "c")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["split"]["seeds"] = [1000]  # the shards also hold seed 1001
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match=r"states-00000.jsonl:\d+: row for .* seed 1001 is outside the split.*mismatched"):
        load_states(folder)
    (folder / "metadata.json").write_text("{")
    with pytest.raises(ConfigError, match="metadata.json: not valid JSON"):
        load_states(folder)
    with pytest.raises(ConfigError, match="no metadata.json"):
        load_states(tmp_path / "nowhere")
    shard = shard_files(folder)[0]
    shard.write_text('{"task": "click-button"}\n')
    (folder / "metadata.json").write_text(json.dumps({**meta, "split": {**meta["split"], "seeds": [1000, 1001]}}))
    with pytest.raises(ConfigError, match=r"states-00000.jsonl:1: row lacks field\(s\) seed"):
        load_states(folder)


def test_split_refuses_heldout_seeds_for_training():
    with pytest.raises(ConfigError, match="training seeds must be >= 1000"):
        Split("miniwob", "train", ("click-button",), (0, 1000))
    assert Split("miniwob", "heldout", ("click-button",), (0, 1, 2)).covers("click-button", 2)
    assert parse_seeds("1000-1002,7") == [7, 1000, 1001, 1002]
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("ten")
