"""The learned value: trained with transformers' Trainer on a small collection, resumed after a
stop mid-way, ranking a solved state above an unsolved one, served through the ValueFunction
protocol with its calls charged to the run's Usage, and refused on its training episodes."""

import json

import pytest

pytest.importorskip("datasets")

from transformers import TrainerCallback  # noqa: E402

from ponder.agents.value import JudgeInput, ValueFunction  # noqa: E402
from ponder.errors import ConfigError  # noqa: E402
from ponder.graphs.web_agent import WebAgentConfig  # noqa: E402
from ponder.learning.train_value import train_value  # noqa: E402
from ponder.learning.value_model import LearnedValue, check_heldout, resolve_value_name, value_function  # noqa: E402
from ponder.usage import Usage  # noqa: E402

from .helpers import OPEN_PAGE, SOLVED_PAGE, make_collection  # noqa: E402


class StopAt(TrainerCallback):
    """Stops training after ``step`` optimizer steps, as a kill would (the run saved before)."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= self.step:
            control.should_training_stop = True
        return control


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    data = make_collection(root / "data")
    out = root / "value"
    opts = dict(max_steps=12, save_steps=4, batch_size=4, learning_rate=5e-4, max_length=96, show_progress=False)
    first = train_value(data, out, callbacks=[StopAt(6)], **opts)
    second = train_value(data, out, **opts)
    return out, first, second


def test_a_stopped_run_resumes_from_its_checkpoint(trained):
    out, first, second = trained
    assert first["finished"] is False and first["training"]["global_step"] == 6
    assert not (out / "learned.json").exists() or second["finished"]
    assert second["finished"] is True
    assert second["training"]["resumed_from"] == "checkpoint-4"
    assert second["training"]["global_step"] == 12
    card = json.loads((out / "learned.json").read_text())
    assert card["splits"][0]["seeds"] == [1000, 1001] and card["training"]["examples"] == 12


def test_ranks_a_solved_state_above_an_unsolved_one(trained):
    out, _, _ = trained
    value = LearnedValue(out)
    assert isinstance(value, ValueFunction) and not value.needs_env
    usage = Usage()
    solved = JudgeInput("Click on the ok button (click-button).", [SOLVED_PAGE], ["click [2]"])
    unsolved = JudgeInput("Click on the ok button (click-button).", [OPEN_PAGE], [])
    a, b = value.score_many([solved, unsolved], usage=usage)
    assert a.value > b.value and a.source == "learned"
    assert usage.calls == 2 and usage.prompt_tokens > 0 and usage.flops > 0 and usage.seconds > 0


def test_value_names_resolve_and_unknown_ones_are_named(trained, tmp_path, monkeypatch):
    out, _, _ = trained
    assert WebAgentConfig(value=f"learned:{out}").value == f"learned:{out}"
    assert isinstance(value_function(f"learned:{out}", model=None, judge_config=None), LearnedValue)
    with pytest.raises(ConfigError, match="unknown value function 'verifier'"):
        WebAgentConfig(value="verifier")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ponder.toml").write_text(f'[values.verifier]\npath = "{out}"\n')
    assert resolve_value_name("verifier") == f"learned:{out}"
    with pytest.raises(ConfigError, match="no such folder"):
        LearnedValue(tmp_path / "missing")


def test_evaluation_refuses_training_episodes(trained):
    out, _, _ = trained
    check_heldout(out, [("click-button", 0), ("click-button", 2), ("enter-text", 1000)])  # held out: fine
    with pytest.raises(ConfigError, match=r"trained on 1 of the episodes to evaluate \(focus-text#1001\)"):
        check_heldout(out, [("click-button", 0), ("focus-text", 1001)])


def test_heldout_collections_are_not_trained_on(tmp_path):
    data = make_collection(tmp_path / "held", seeds=(0, 1), role="heldout")
    with pytest.raises(ConfigError, match="split role 'heldout'"):
        train_value(data, tmp_path / "v", max_steps=1)


def test_bench_verifier_reports_auc_and_latency(trained, tmp_path):
    from ponder.evals.bench import run_bench

    out, _, _ = trained
    traces = tmp_path / "traces"
    traces.mkdir()
    for seed in (0, 1):  # held-out episodes of an oracle run: node values are rewards
        nodes = [{"id": "n0", "parent": None, "path": [], "excerpt": OPEN_PAGE, "value": 0.0},
                 {"id": "n1", "parent": "n0", "path": ["click [2]"], "excerpt": SOLVED_PAGE, "value": 1.0},
                 {"id": "n2", "parent": "n0", "path": ["click [3]"], "excerpt": OPEN_PAGE, "value": 0.0}]
        (traces / f"click-button_{seed}.json").write_text(json.dumps(
            {"task_id": "click-button", "intent": "Click on the ok button (click-button).", "config": {"value": "oracle"},
             "nodes": nodes}))
    result = run_bench("verifier", quick=True, model=str(out), traces=str(traces))
    m = result["metrics"]
    assert result["bench"] == "verifier" and m["states"] == 6 and m["solved_states"] == 2
    assert m["auc_heldout"] == 1.0 and m["score_ms_per_state"] > 0
    (traces / "click-button_0.json").write_text(json.dumps({"task_id": "click-button", "config": {"value": "judge"}, "nodes": []}))
    with pytest.raises(ConfigError, match="click-button_0.json: a trace of value='judge'"):
        run_bench("verifier", quick=True, model=str(out), traces=str(traces))
