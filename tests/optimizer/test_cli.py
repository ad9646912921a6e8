"""``ponder optimize`` and ``ponder graph ...`` as a user runs them: clear one-line errors, and a
small real optimisation with the local model that resumes."""

import json
import os
import subprocess
import sys

import pytest


def ponder(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "ponder.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def clean_error(r, *needles):
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith("error:")
    for n in needles:
        assert n in r.stderr, r.stderr


def test_budget_too_small_for_any_graph(tmp_path):
    r = ponder("optimize", "--budget", "0.5", "--pool", "smollm2-135m", "--out", str(tmp_path / "b.json"))
    clean_error(r, "budget 0.5 is too small for any graph", "costs 1.00 units")


def test_unknown_model_in_the_pool(tmp_path):
    r = ponder("optimize", "--budget", "4", "--pool", "smollm2-135m,gpt-17", "--out", str(tmp_path / "b.json"))
    clean_error(r, "unknown model 'gpt-17'")


def test_bad_method_and_objective(tmp_path):
    clean_error(ponder("optimize", "--budget", "4", "--pool", "smollm2-135m", "--method", "annealing",
                       "--out", str(tmp_path / "b.json")), "unknown method 'annealing'")
    clean_error(ponder("optimize", "--budget", "4", "--pool", "smollm2-135m", "--objective", "speed",
                       "--out", str(tmp_path / "b.json")), "unknown objective 'speed'")


def test_invalid_spec_and_unknown_model_name_the_node(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": [{"id": "a", "role": "generate", "model": "smollm2-135m"},
                                         {"id": "b", "role": "refine", "model": "smollm2-135m", "final": True}],
                               "edges": [["a", "c"]]}))
    clean_error(ponder("graph", "validate", str(bad)), "edge a -> c names unknown node 'c'")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("nodes:\n  - {id: solo, role: generate, model: no-such-model, final: true}\n")
    clean_error(ponder("graph", "run", str(unknown), "--input", "2+2?"), "node 'solo': unknown model 'no-such-model'")


def test_preset_and_cost(tmp_path):
    out = tmp_path / "sc.json"
    r = ponder("graph", "preset", "self-consistency", "--model", "smollm2-135m", "--set", "n=3", "--set", "vote=weighted",
               "--out", str(out))
    assert r.returncode == 0, r.stderr
    spec = json.loads(out.read_text())
    assert spec["nodes"][0]["n"] == 3 and spec["nodes"][1]["vote"] == "weighted"
    r = ponder("graph", "cost", str(out), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["units"] == pytest.approx(3.0)


@pytest.mark.slow
def test_graph_run_with_the_local_model(tmp_path):
    spec = tmp_path / "g.json"
    r = ponder("graph", "preset", "hybrid", "--model", "smollm2-135m", "--set", "width=2", "--set", "max_tokens=4",
               "--out", str(spec))
    assert r.returncode == 0, r.stderr
    r = ponder("graph", "run", str(spec), "--input", "Sam has 2 pens and buys 3 more. How many pens?", "--kind", "math",
               "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["outputs"]) == {"gen1", "gen2", "refine1"}
    assert out["usage"]["calls"] == 3 and out["usage"]["completion_tokens"] <= 3 * 4
    r = ponder("graph", "run", str(spec), "--input", "2+2?", "--budget", "calls=1")
    clean_error(r, "budget exceeded")


@pytest.mark.slow
def test_small_real_optimisation_resumes(tmp_path):
    out = tmp_path / "best.json"
    args = ["optimize", "--tasks", "synthetic:6", "--budget", "2.2", "--pool", "smollm2-135m", "--max-width", "2",
            "--max-depth", "2", "--max-tokens", "3", "--minibatch", "2", "--out", str(out)]
    r = ponder(*args, "--evals", "2")
    assert r.returncode == 0, r.stderr
    first = json.loads(out.read_text())
    assert first["evaluations_used"] <= 2 and first["graph"]["nodes"]
    assert first["optimizer_spend"]["calls"] == 0  # the rule agent makes no model calls
    assert first["evaluation_spend"]["calls"] > 0
    r = ponder(*args, "--evals", "3")  # same run, more budget: resumes
    assert r.returncode == 0, r.stderr
    second = json.loads(out.read_text())
    assert second["resumed_batches"] >= 1
    assert second["evaluations_used"] <= 3 and second["graph_evaluations"] > first["graph_evaluations"]
    assert (tmp_path / "best.json.state.json").exists() and (tmp_path / "best.json.cache.jsonl").exists()
