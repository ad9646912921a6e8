"""The local sites in the learning loop: reference solutions replayed as demonstrations in the
real sites and Chromium, collection through the `ponder eval web` runner, and the split (a
named training subset outside the stratified evaluation 40) that the evaluation enforces."""

import json

import pytest

from ponder.environments.tasks import get_task
from ponder.errors import ConfigError
from ponder.evals.web import agent_config, run_web_eval
from ponder.learning.collect import collect_demos, collect_web, web_eval_tasks, web_tasks
from ponder.learning.dataset import load_states
from ponder.learning.train_actor import bc_examples
from ponder.models.scripted import ScriptedChatModel
from ponder.tools.actions import parse_action

TRAIN = ["forum-002", "shop-004"]  # two training tasks (outside the stratified 40), three reference steps each


def test_training_subset_is_the_complement_of_the_stratified_40():
    held = web_eval_tasks()
    train = [str(t.task_id) for t in web_tasks("train")]
    assert len(held) == 40 and not set(held) & set(train)
    assert {str(t.task_id) for t in web_tasks("all")} == set(held) | set(train)
    assert {str(t.task_id) for t in web_tasks("eval")} == set(held)
    assert all(t in train for t in TRAIN)


def test_a_bad_task_name_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope-999"):
        collect_demos(tmp_path / "d", tasks="forum-002,nope-999", show_progress=False)
    assert not (tmp_path / "d").exists()  # refused before anything is written


def test_training_on_an_evaluation_task_is_refused(tmp_path):
    held = web_eval_tasks()[0]
    with pytest.raises(ConfigError, match=f"{held}.*stratified evaluation 40"):
        collect_demos(tmp_path / "d", tasks=[held, TRAIN[0]], show_progress=False)


def _same_action(taken: str, reference: str) -> bool:
    """The taken action is the reference written with an element id instead of role and name."""
    a, b = parse_action(taken), parse_action(reference)
    same = (a.name, a.text, a.enter, a.index) == (b.name, b.text, b.enter, b.index)
    return same and (b.target is None or isinstance(a.target, int))


@pytest.mark.slow
def test_demos_replay_the_reference_and_end_solved(tmp_path):
    folder, failed = collect_demos(tmp_path / "demos", tasks=TRAIN, show_progress=False)
    assert failed == []
    rows, meta = load_states(folder)
    assert meta["split"] == {"env": "web", "role": "train", "tasks": TRAIN, "seeds": [0]}
    for task_id in TRAIN:
        reference = get_task(task_id).reference
        states = sorted((r for r in rows if r["task"] == task_id), key=lambda r: len(r["history"]))
        assert [len(r["history"]) for r in states] == list(range(len(reference) + 1))
        last = states[-1]
        assert last["reward"] == 1.0 and last["done"]
        assert all(r["reward"] == 0.0 for r in states[:-1])
        assert len(last["history"]) == len(reference)
        assert all(_same_action(a, ref) for a, ref in zip(last["history"], reference, strict=True))
        assert [r["action"] for r in states[:-1]] == last["history"]  # the action taken from each state
        assert all(r["intent"] == get_task(task_id).intent and r["observation"] for r in states)

    # the behaviour-cloning examples are exactly the reference steps, in the actor's format
    examples = bc_examples(rows)
    assert sorted((e["row"]["task"], len(e["row"]["history"])) for e in examples) == sorted(
        (t, i) for t in TRAIN for i in range(len(get_task(t).reference)))
    assert all("'" not in e["action"].split("]")[0] for e in examples)  # ids, not role-and-name references

    # a rerun is resumable: nothing replayed twice, nothing lost
    before = (folder / "raw" / "states.jsonl").read_text()
    collect_demos(folder, tasks=TRAIN, show_progress=False)
    assert (folder / "raw" / "states.jsonl").read_text() == before

    # a model trained on this data is refused on its training tasks, accepted on the evaluation 40
    actor = tmp_path / "actor"
    actor.mkdir()
    (actor / "actor.json").write_text(json.dumps({"splits": [meta["split"]]}))
    with pytest.raises(ConfigError, match="trained on 1 of the episodes.*forum-002"):
        run_web_eval(tasks="forum-002,shop-001", model=f"hf:{actor}", out=tmp_path / "bad.jsonl", show_progress=False)
    assert not (tmp_path / "bad.jsonl").exists()
    from ponder.learning.split import check_actor_heldout

    check_actor_heldout(f"hf:{actor}", [(t, 0) for t in web_eval_tasks()])  # the 40: no refusal
    with pytest.raises(ConfigError, match="shop-004"):  # a local-site task is refused whatever the run's seed
        check_actor_heldout(f"hf:{actor}", [("shop-004", 3)])


@pytest.mark.slow
def test_collect_web_records_states_through_the_eval_runner(tmp_path):
    model = ScriptedChatModel(replies=["stop [3]"], name="scripted-actor")
    config = agent_config(horizon=2, candidates=1, temperature=0.0, max_tokens=20, max_obs_chars=800, judge_samples=1,
                          graded_judge=False, rechecks=0, branching=1, depth=1, value_budget=1, threshold=1.0,
                          trajectories=1, search_rounds=0, value="judge", seed=0)
    folder = collect_web(tmp_path / "c", tasks="forum-002", strategy="greedy", model=model, config=config,
                         show_progress=False)
    rows, meta = load_states(folder)
    assert meta["split"]["env"] == "web" and meta["split"]["tasks"] == ["forum-002"]
    assert {(r["task"], r["seed"]) for r in rows} == {("forum-002", 0)}
    stop = [r for r in rows if r["history"] == ["stop [3]"]]
    assert stop and stop[0]["reward"] == 1.0  # the answer the task asks for, read on the start page's task
    assert [r["action"] for r in rows if not r["history"]] == ["stop [3]"]
    result = json.loads((folder / "runs" / "greedy.jsonl").read_text().splitlines()[0])
    assert result["id"] == "forum-002#0" and result["kind"] == "web" and result["success"]
