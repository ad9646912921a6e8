"""A search run killed (a real process kill) after k expansions resumes from LangGraph's SQLite
checkpoint and ends with the same result as an uninterrupted run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # each case starts three Python processes

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from ponder.agents.web_actor import ActorConfig
    from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, price_task, scripted_web_model
    from ponder.graphs.web_agent import WebAgentConfig, run_web

    strategy, ckpt, out, kill_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    original = model.generate_batch
    actor_calls = 0

    def counted(batch, **kw):
        global actor_calls
        if batch[0][0]["content"].startswith("You are a web agent"):
            actor_calls += 1
            if 0 <= kill_after < actor_calls:
                os._exit(9)  # killed in the middle of a node, before its model call returns
        return original(batch, **kw)

    model.generate_batch = counted
    config = WebAgentConfig(actor=ActorConfig(n=5), value_budget=4, branching=2, depth=2, horizon=6, trajectories=3)
    result = run_web(ToyEnv(), price_task(), model, strategy=strategy, config=config, checkpoint=ckpt, thread_id="t1")
    nodes = [(n["id"], n["parent"], n["action"], n["value"]) for n in result.trace["nodes"]]
    json.dump({"answer": result.answer, "actions": result.actions, "committed": result.trace["committed"],
               "nodes": nodes, "calls": result.usage["calls"], "tokens": result.usage["tokens"],
               "actor_calls_here": actor_calls, "stop_reason": result.stop_reason}, open(out, "w"))
    """
)


def _run(tmp_path, strategy, ckpt, out, kill_after):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), strategy, str(ckpt), str(out), str(kill_after)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})


@pytest.mark.parametrize("strategy,kill_after", [("best-first", 3), ("greedy", 2), ("best-of-n", 4)])
def test_killed_run_resumes_to_the_same_result(tmp_path, strategy, kill_after):
    whole = _run(tmp_path, strategy, tmp_path / "a.sqlite", tmp_path / "a.json", -1)
    assert whole.returncode == 0, whole.stderr
    expected = json.loads((tmp_path / "a.json").read_text())
    assert expected["actor_calls_here"] > kill_after  # the kill point is inside the run

    killed = _run(tmp_path, strategy, tmp_path / "b.sqlite", tmp_path / "b.json", kill_after)
    assert killed.returncode == 9 and not (tmp_path / "b.json").exists()
    resumed = _run(tmp_path, strategy, tmp_path / "b.sqlite", tmp_path / "b.json", -1)
    assert resumed.returncode == 0, resumed.stderr
    got = json.loads((tmp_path / "b.json").read_text())

    for key in ("answer", "actions", "committed", "nodes", "calls", "tokens", "stop_reason"):
        assert got[key] == expected[key], key
    # the resumed process did only the work that was left: the k finished expansions were not redone
    assert got["actor_calls_here"] == expected["actor_calls_here"] - kill_after


def test_a_finished_run_is_not_run_again(tmp_path):
    first = _run(tmp_path, "best-first", tmp_path / "c.sqlite", tmp_path / "c.json", -1)
    assert first.returncode == 0, first.stderr
    again = _run(tmp_path, "best-first", tmp_path / "c.sqlite", tmp_path / "d.json", -1)
    assert again.returncode == 0, again.stderr
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("c.json", "d.json"))
    assert b["actor_calls_here"] == 0 and b["actions"] == a["actions"] and b["calls"] == a["calls"]
