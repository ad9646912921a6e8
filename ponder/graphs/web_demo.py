"""The web part of ``ponder demo``: one short shop task solved with best-first search, with its
trace page.

The task ("Open my shopping cart", a URL match) needs one right click and a stop. The actor
samples candidate actions in one batched call, the value judge scores each resulting page, the
best branch is committed, and the run's trace is written as JSON and as a self-contained HTML
page that draws the search tree.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

DEMO_TASK = "shop-027"


def web_demo(console: Any, model_name: Any = None, *, out_dir: str | Path | None = None, task_id: str = DEMO_TASK) -> dict:
    """Run the demo and print what happened to ``console`` (a rich Console). ``model_name`` is
    a registry name (default: the bundled SmolLM2) or a ready :class:`ChatModel`.

    Returns a summary: task, answer, committed actions, score, usage, seconds, and the trace
    and HTML paths.
    """
    from ponder.agents.value_judge import JudgeConfig
    from ponder.agents.web_actor import ActorConfig
    from ponder.environments.tasks import builtin_tasks
    from ponder.environments.webenv import WebEnv
    from ponder.graphs.trace import write_html, write_trace
    from ponder.graphs.web_agent import WebAgentConfig, run_web
    from ponder.models.registry import load_model

    start = time.perf_counter()
    task = next((t for t in builtin_tasks() if t.task_id == task_id), None)
    if task is None:
        from ponder.errors import ConfigError

        raise ConfigError(f"web demo: no built-in task {task_id!r}")
    from ponder.models.base import ChatModel

    model = model_name if isinstance(model_name, ChatModel) else load_model(model_name)
    config = WebAgentConfig(
        horizon=3, branching=3, depth=2, value_budget=6, search_rounds=1,
        actor=ActorConfig(n=4, max_tokens=16, max_obs_chars=700),
        judge=JudgeConfig(k=2, max_obs_chars=500, recent=1),
    )
    out = Path(out_dir) if out_dir else Path(tempfile.gettempdir()) / "ponder-demo"
    console.print(f"[bold]web search[/] on the shop site: {task.intent!r} (model {model.name}, best-first b=3 c=6)")
    with WebEnv() as env:
        result = run_web(env, task, model, strategy="best-first", config=config)
        score = env.evaluate()
    trace = dict(result.trace, score=score.value)
    trace_path = write_trace(trace, out / f"web-{task_id}.json")
    html_path = write_html(trace_path)
    nodes = {n["id"]: n for n in trace["nodes"]}
    for n in trace["nodes"][1:]:
        mark = "[green]*[/]" if n["id"] in trace["committed"] else " "
        value = "-" if n["value"] is None else f"{n['value']:.2f}"
        console.print(f"  {mark} {n['id']:>4} <- {nodes[n['parent']]['id']:>3}  value {value:>4}  {n['action']}", highlight=False)
    solved = score.value >= 1.0
    console.print(
        f"  committed: {' -> '.join(result.actions) or '(nothing)'}; score {score.value:.1f} "
        f"({'solved' if solved else 'not solved: the 135M model often is not, see docs/RESULTS.md'}); "
        f"{result.usage['calls']} model calls, {result.usage['tokens']} tokens, {result.usage['env_steps']} env steps"
    )
    console.print(f"  trace page: {html_path}")
    return {"task": task_id, "answer": result.answer, "actions": result.actions, "score": score.value, "solved": solved,
            "usage": result.usage, "seconds": round(time.perf_counter() - start, 2), "trace": str(trace_path), "html": str(html_path)}
