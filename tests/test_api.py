"""The public API per axis (``from ponder import ...``): every name resolves, ``import ponder``
stays light, and each thin function works over the layers below it (scripted models, the toy
environment, BM25 and the hashing embedder, so no model is loaded here; the README examples run
the real ones in tests/test_readme.py)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import ponder
from ponder import (
    Budget,
    BudgetExceeded,
    GraphSpec,
    Index,
    QAResult,
    ScriptedChatModel,
    answer_question,
    build_index,
    open_index,
    preset_graph,
    run_graph,
    run_web_task,
)
from ponder.environments.toy import TOY_POLICY, TOY_STATUSES, ToyEnv, price_task, scripted_web_model
from ponder.errors import ConfigError
from ponder.retrieval import HashingEmbedder

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves_and_has_a_docstring():
    for name in ponder.__all__:
        value = getattr(ponder, name)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert (value.__doc__ or "").strip(), name
    assert set(ponder._LAZY) <= set(ponder.__all__) <= set(dir(ponder))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ponder.nope  # noqa: B018


def test_type_checking_imports_name_the_same_modules_as_the_lazy_table():
    import ast

    tree = ast.parse((ROOT / "ponder" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {alias.name: node.module for node in block.body for alias in node.names}
    assert seen == ponder._LAZY


def test_import_ponder_imports_no_layer():
    code = ("import sys, ponder; heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('langgraph', 'torch', 'numpy', 'rich') or m.startswith(('ponder.graphs', 'ponder.models', 'ponder.retrieval'))); "
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---- interaction ---------------------------------------------------------------------------------
def test_run_web_task_returns_score_answer_and_trace():
    model = scripted_web_model(TOY_POLICY, TOY_STATUSES)
    greedy = run_web_task(price_task(), strategy="greedy", model=model, env=ToyEnv())
    search = run_web_task(price_task(), strategy="best-first", model=model, env=ToyEnv())
    assert (greedy.score, greedy.answer, greedy.solved) == (0.0, "$12", False)
    assert (search.score, search.answer, search.solved) == (1.0, "$999", True)
    assert search.actions[-1] == "stop [$999]" and search.trace["score"] == 1.0
    assert len(search.trace["nodes"]) > len(search.actions) and search.usage["calls"] > greedy.usage["calls"]


def test_run_web_task_names_an_unknown_strategy_and_task():
    with pytest.raises(ConfigError, match="unknown web strategy 'beam'"):
        run_web_task(price_task(), strategy="beam", model=scripted_web_model(TOY_POLICY), env=ToyEnv())
    with pytest.raises(ConfigError, match="no built-in task 'shop-999'"):
        run_web_task("shop-999", model=scripted_web_model(TOY_POLICY), env=ToyEnv())


# ---- retrieval --------------------------------------------------------------------------------------
TEXTS = {"nile.txt": "The Nile is a river in Africa, about 6650 km long.",
         "eiffel.md": "# Eiffel Tower\n\nThe Eiffel Tower is a wrought-iron tower in Paris."}


@pytest.mark.parametrize("kind", ["sparse", "dense", "hybrid"])
def test_build_index_from_texts_then_answer(kind, tmp_path):
    index = build_index(TEXTS, kind=kind, embedder=HashingEmbedder(64))
    assert isinstance(index, Index) and index.kind == kind and len(index) == 2
    assert index.source(index.search("river in Africa", 1)[0].doc_id) == "nile.txt"
    model = ScriptedChatModel([(r"Nile", "Answer: Africa")], default="Answer: unknown")
    result = answer_question("Which continent is the Nile in?", index, model=model, top_k=1)
    assert isinstance(result, QAResult) and result.answer == "Africa"
    index.save(tmp_path / "idx")
    assert open_index(tmp_path / "idx", HashingEmbedder(64)).doc_ids() == index.doc_ids()


def test_build_index_takes_plain_strings_and_names_them():
    index = build_index(["alpha beta", "gamma delta"], kind="sparse")
    assert [index.source(d) for d in index.doc_ids()] == ["doc-1", "doc-2"]
    with pytest.raises(ConfigError, match="unknown index kind 'graph'"):
        build_index(["x"], kind="graph")  # type: ignore[arg-type]


# ---- collaboration --------------------------------------------------------------------------------
def test_run_graph_from_a_preset_a_dict_and_a_file(tmp_path):
    model = ScriptedChatModel(default="Answer: 42")
    spec = preset_graph("self-consistency", "m", n=3)
    assert isinstance(spec, GraphSpec)
    for given in (spec, spec.to_dict(), tmp_path / "g.json"):
        (tmp_path / "g.json").write_text(spec.to_json())
        result = run_graph(given, "What is 40 + 2?", kind="math", models={"m": model})
        assert result.answer == "42" and result.usage.calls >= 1
    with pytest.raises(BudgetExceeded):
        run_graph(preset_graph("best-of-n", "m", n=4), "What is 40 + 2?", models={"m": model}, budget=Budget(calls=0))


def test_run_graph_multiple_choice():
    model = ScriptedChatModel(default="Answer: B")
    result = run_graph(preset_graph("single", "m"), "Which is a river?", choices=["Paris", "Nile"], models={"m": model})
    assert result.answer == "B"
