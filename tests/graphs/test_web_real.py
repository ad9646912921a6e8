"""Web strategies on the real environment: the local shop site in Chromium (and the bundled
SmolLM2 once)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from ponder.agents.value_judge import JudgeConfig
from ponder.agents.web_actor import ActorConfig
from ponder.graphs.web_agent import WebAgentConfig, run_web
from ponder.models.scripted import ScriptedChatModel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env():
    from ponder.environments.webenv import WebEnv

    with WebEnv() as e:
        yield e


@pytest.fixture(scope="module")
def cart_task():
    from ponder.environments.tasks import builtin_tasks

    return next(t for t in builtin_tasks() if t.task_id == "shop-027")  # "Open my shopping cart." (url_match)


def cart_model():
    """The actor's most frequent first action is the wrong link ('My orders'); the judge knows
    the cart page when it sees its URL."""
    asked: dict[str, int] = {}

    def reply(messages):
        prompt = messages[-1]["content"]
        if messages[0]["content"].startswith("You check"):
            url = re.search(r"URL: (\S+)", prompt)
            answered = "Answer given:" in prompt
            on_cart = bool(url and url.group(1).rstrip("/").endswith("/cart"))
            return "success" if on_cart and answered else ("on track" if on_cart else "failure")
        if re.search(r"URL: \S+/cart\b", prompt):
            return "stop []"
        i = asked.get(prompt, 0)
        asked[prompt] = i + 1
        return ["click [link 'My orders']", "click [link 'My orders']", "click [link 'My cart']", "scroll [down]"][i % 4]

    return ScriptedChatModel(default=reply)


CONFIG = WebAgentConfig(horizon=4, branching=3, depth=2, value_budget=6, actor=ActorConfig(n=4))


def test_greedy_follows_the_most_frequent_wrong_link(env, cart_task):
    result = run_web(env, cart_task, cart_model(), strategy="greedy", config=CONFIG)
    assert result.actions[0].startswith("click [")
    assert env.evaluate().value == 0.0


def test_best_first_finds_the_cart_through_snapshots(env, cart_task):
    result = run_web(env, cart_task, cart_model(), strategy="best-first", config=CONFIG)
    assert env.evaluate().value == 1.0
    assert result.actions[-1] == "stop []" and len(result.actions) == 2
    assert result.runtime.counts["restore"] > 0 and result.runtime.counts["replay"] == 0
    assert result.usage["env_steps"] >= 3 and result.usage["env_seconds"] > 0
    # the losing branch (My orders) is in the tree with a lower value than the committed one
    values = {n["action"]: n["value"] for n in result.trace["nodes"] if n["depth"] == 1}
    committed_first = result.actions[0]
    assert max(values.values()) == values[committed_first] and min(values.values()) == 0.0


def test_nonsense_model_gets_error_observations_on_the_real_site(env, cart_task):
    model = ScriptedChatModel(default="!!! I am a teapot ###")
    result = run_web(env, cart_task, model, strategy="best-first",
                     config=WebAgentConfig(horizon=2, value_budget=2, branching=1, depth=1, actor=ActorConfig(n=2)))
    steps = [n for n in result.trace["nodes"] if n["action"]]
    assert steps and all(n["error"] for n in steps)
    assert result.stop_reason in ("horizon", "exhausted")
    assert env.evaluate().value == 0.0


def test_the_bundled_smollm2_runs_an_episode(env, cart_task):
    from ponder.models.registry import load_model

    name = "llamacpp:smollm2-135m" if importlib.util.find_spec("llama_cpp") else "smollm2-135m"
    model = load_model(name)
    config = WebAgentConfig(horizon=2, actor=ActorConfig(n=2, max_tokens=12, max_obs_chars=300),
                            judge=JudgeConfig(k=1, max_tokens=4, max_obs_chars=200, recent=1))
    result = run_web(env, cart_task, model, strategy="greedy", config=config)
    steps = [n for n in result.trace["nodes"] if n["action"]]
    assert 1 <= len(steps) <= 2
    assert result.usage["calls"] == len(steps) and result.usage["completion_tokens"] > 0
    assert result.stop_reason in ("answered", "horizon")
    assert 0.0 <= env.evaluate().value <= 1.0


def test_web_demo_writes_a_trace_page(tmp_path):
    from rich.console import Console

    from ponder.graphs.web_demo import web_demo

    console = Console(record=True, width=120)
    summary = web_demo(console, cart_model(), out_dir=tmp_path)
    assert summary["solved"] and summary["score"] == 1.0
    html = open(summary["html"]).read()
    assert "trace-data" in html and "shop-027" in html
    assert "trace page:" in console.export_text()
