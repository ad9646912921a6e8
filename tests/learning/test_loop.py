"""A tiny collect -> train -> evaluate loop on two MiniWoB++ tasks in real Chromium, with a
scripted actor (one right and three wrong actions per call) and the oracle guiding collection."""

import json
import re

import pytest

pytest.importorskip("datasets")

from ponder.errors import ConfigError  # noqa: E402
from ponder.evals.web import agent_config  # noqa: E402
from ponder.files import read_jsonl  # noqa: E402
from ponder.learning.collect import collect_miniwob  # noqa: E402
from ponder.learning.dataset import load_states  # noqa: E402
from ponder.learning.evaluate import evaluate_miniwob  # noqa: E402
from ponder.learning.train_value import train_value  # noqa: E402
from ponder.models.scripted import ScriptedChatModel  # noqa: E402

pytestmark = pytest.mark.slow
TASKS = ["click-button", "focus-text"]


def _state(messages):
    text = messages[-1]["content"]
    intent = re.search(r"Objective: (.*)", text).group(1)
    return intent, text


def right(messages) -> str:
    intent, page = _state(messages)
    quoted = re.findall(r'"([^"]*)"', intent)
    if quoted:
        m = re.search(r"\[(\d+)\] button '" + re.escape(quoted[0]) + "'", page)
    else:
        m = re.search(r"\[(\d+)\] textbox", page)
    return f"click [{m.group(1)}]" if m else "click [1]"


def wrong(messages) -> str:
    _, page = _state(messages)
    ids = re.findall(r"\[(\d+)\] StaticText", page)
    return f"click [{ids[-1]}]" if ids else "click [1]"


def actor() -> ScriptedChatModel:
    return ScriptedChatModel(replies=[wrong, right, lambda m: "click [1]", lambda m: "scroll [down]"], name="scripted-actor")


def config(value: str, seed: int = 0):
    return agent_config(horizon=2, candidates=4, temperature=0.8, max_tokens=20, max_obs_chars=800, judge_samples=1,
                        graded_judge=False, rechecks=0, branching=3, depth=1, value_budget=3, threshold=1.0, trajectories=2,
                        search_rounds=1, value=value, seed=seed)


def test_collect_train_evaluate(tmp_path):
    data = collect_miniwob(tmp_path / "data", tasks=TASKS, seeds=[1000, 1001], strategy="best-first",
                           model=actor(), config=config("oracle"), show_progress=False)
    rows, meta = load_states(data)
    assert meta["split"] == {"env": "miniwob", "role": "train", "tasks": TASKS, "seeds": [1000, 1001]}
    assert {(r["task"], r["seed"]) for r in rows} == {(t, s) for t in TASKS for s in (1000, 1001)}
    solved = [r for r in rows if r["reward"] > 0]
    assert solved and any(r["reward"] == 0 for r in rows)
    start = [r for r in rows if not r["history"]]
    assert all(r["candidates"] and r["value_target"] > 0 for r in start)  # search found a solution below each start
    assert all(r["action"] is not None for r in start)

    # a rerun of the same collection skips the finished episodes and keeps every record
    before = (data / "raw" / "states.jsonl").read_text()
    collect_miniwob(data, tasks=TASKS, seeds=[1000, 1001], strategy="best-first", model=actor(), config=config("oracle"),
                    show_progress=False)
    assert (data / "raw" / "states.jsonl").read_text() == before

    model = tmp_path / "value"
    card = train_value(data, model, max_steps=6, save_steps=3, batch_size=4, learning_rate=5e-4, max_length=128,
                       show_progress=False)
    assert card["finished"] and json.loads((model / "learned.json").read_text())["splits"][0]["seeds"] == [1000, 1001]

    out = tmp_path / "eval.jsonl"
    result = evaluate_miniwob(out, tasks=TASKS, first_seed=0, episodes=1, strategy="best-first", model=actor(),
                              config=config(f"learned:{model}"), show_progress=False)
    assert len(result) == 2 and all(r["error"] is None for r in result)
    assert all(r["label"] == "best-first c=3 b=3 value=value" and r["metrics"]["value_calls"] >= 1 for r in result)
    assert all(r["usage"]["flops"] > 0 for r in result)

    with pytest.raises(ConfigError, match="trained on 2 of the episodes"):
        evaluate_miniwob(tmp_path / "bad.jsonl", tasks=TASKS, first_seed=1000, episodes=1, strategy="best-first",
                         model=actor(), config=config(f"learned:{model}"), show_progress=False)
    assert not (tmp_path / "bad.jsonl").exists()

    # expert iteration: a second round collects on (some of) the training seeds with what was
    # learned from them (a collection is training data, not an evaluation), as a run of its own
    collect_miniwob(data, tasks=TASKS, seeds=[1000], strategy="best-first", model=actor(),
                    config=config(f"learned:{model}"), label="round 2", show_progress=False)
    meta = json.loads((data / "metadata.json").read_text())
    assert [r["label"] for r in meta["runs"]][-1] == "round 2"
    assert {r["run"] for r in read_jsonl(data / "raw" / "states.jsonl")} >= {"round 2"}
    # a run may cover part of the folder's split (here one seed of two), never more
    with pytest.raises(ConfigError, match="does not include the one asked for"):
        collect_miniwob(data, tasks=TASKS, seeds=[1002], strategy="greedy", model=actor(), show_progress=False)
