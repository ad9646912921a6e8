"""Filtered behaviour cloning: examples only from paths that reach a solved state; a few LoRA
steps on SmolLM2 give a merged folder that loads as the model name hf:DIR."""

import json

import pytest

pytest.importorskip("peft")

from ponder.errors import ConfigError  # noqa: E402
from ponder.learning.dataset import load_states  # noqa: E402
from ponder.learning.train_actor import bc_examples, train_actor  # noqa: E402

from .helpers import make_collection  # noqa: E402


def test_only_successful_paths_are_cloned(tmp_path):
    rows, _ = load_states(make_collection(tmp_path / "c"))
    examples = bc_examples(rows)
    assert len(examples) == 4  # one per episode: the start state -> the solving click
    assert all(e["action"] == "click [2]" and e["row"]["history"] == [] for e in examples)


def test_no_success_no_training(tmp_path):
    folder = make_collection(tmp_path / "c")
    for shard in (folder / "data").glob("*.jsonl"):
        rows = [json.loads(line) for line in shard.read_text().splitlines()]
        shard.write_text("".join(json.dumps({**r, "reward": 0.0}) + "\n" for r in rows))
    with pytest.raises(ConfigError, match="no successful trajectory"):
        train_actor(folder, tmp_path / "a", max_steps=1)


@pytest.mark.slow
def test_lora_clone_loads_as_a_model_name(tmp_path):
    from ponder.models.registry import load_model

    out = tmp_path / "actor"
    card = train_actor(make_collection(tmp_path / "c"), out, max_steps=2, batch_size=2, max_length=192, save_steps=1,
                       show_progress=False)
    assert card["finished"] and card["training"]["examples"] == 4 and card["training"]["global_step"] == 2
    assert card["training"]["epochs_done"] == 1.0  # 2 steps of 2 over 4 examples, whatever --epochs said
    assert json.loads((out / "actor.json").read_text())["splits"][0]["role"] == "train"
    model = load_model(f"hf:{out}", cache=False)
    (reply,) = model.generate([{"role": "user", "content": "Objective: click ok"}], max_tokens=4, temperature=0.0)
    assert isinstance(reply.text, str)
