"""Run a web agent: the table of web strategies (:data:`WEB_STRATEGIES`) and :func:`run_web`,
which builds a strategy's graph for one task, runs it durably and returns the answer, the
committed actions, the usage and the trace.

The layers point one way: :mod:`~ponder.graphs.web_config` (names, configuration) <-
:mod:`~ponder.graphs.state_tree` (the tree records) <- :mod:`~ponder.graphs.web_runtime`
(environment runtime, run context) <- the strategies (:mod:`~ponder.graphs.greedy`,
:mod:`~ponder.graphs.recheck`, :mod:`~ponder.graphs.tree_search`, :mod:`~ponder.graphs.best_of_n`)
<- this module. With a checkpoint path every step is written (:mod:`~ponder.graphs.durable`), so
a killed run resumes at the node it was in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from langgraph.graph import StateGraph

from ponder.agents.value import ValueFunction
from ponder.agents.value_judge import OracleValue, ValueJudge
from ponder.agents.web_actor import WebActor
from ponder.environments.protocol import AgentEnv, EnvObservation, EnvTask
from ponder.graphs.best_of_n import build_best_of_n
from ponder.graphs.durable import forget_thread, run_durable
from ponder.graphs.greedy import build_agent_graph
from ponder.graphs.recheck import build_recheck_graph
from ponder.graphs.state_tree import TreeNode
from ponder.graphs.trace import build_trace
from ponder.graphs.tree_search import build_tree_search
from ponder.graphs.web_config import (
    SEARCH_STRATEGIES,
    WEB_STRATEGY_NAMES,
    WebAgentConfig,
    WebStrategy,
    check_web_strategy,
)
from ponder.graphs.web_runtime import EnvRuntime, RunContext
from ponder.models.base import ChatModel
from ponder.usage import Budget, Usage

__all__ = ["SEARCH_STRATEGIES", "WEB_STRATEGIES", "WebAgentConfig", "WebRunResult", "WebStrategy", "forget_thread", "run_web"]

#: web strategy name -> the builder of its graph for one run (``ponder eval web --strategy``)
WEB_STRATEGIES: dict[WebStrategy, Callable[[RunContext], StateGraph]] = {
    "greedy": build_agent_graph,
    "recheck": build_recheck_graph,
    "best-first": build_tree_search,
    "best-of-n": build_best_of_n,
}
assert tuple(WEB_STRATEGIES) == WEB_STRATEGY_NAMES, "every WebStrategy name has one builder"


@dataclass
class WebRunResult:
    """What a web strategy returns: the answer and committed actions, why it stopped, the
    usage, the final graph state and the trace (see :mod:`ponder.graphs.trace`)."""

    answer: str | None
    actions: list[str]
    stop_reason: str
    usage: dict
    state: dict
    trace: dict
    runtime: EnvRuntime


def run_web(
    env: AgentEnv,
    task: EnvTask | str,
    model: ChatModel,
    *,
    strategy: WebStrategy | str = "greedy",
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    reset: Callable[[], EnvObservation] | None = None,
    checkpoint: str | Path | None = None,
    thread_id: str | None = None,
    usage: Usage | None = None,
    judge_model: ChatModel | None = None,
    value_fn: ValueFunction | None = None,
) -> WebRunResult:
    """Run one web strategy on one task and leave ``env`` in the committed final state (so
    ``env.evaluate()`` scores the run).

    Args:
        env: an :class:`~ponder.environments.protocol.AgentEnv` (``WebEnv``, ``MiniWoBEnv``, ...).
        task: the task given to ``env.reset`` (unless ``reset`` is passed); its ``intent`` (or
            the first observation's) is the objective. A plain task name works with ``reset``.
        model: the model behind the actor (and the value judge unless ``judge_model`` is given).
        strategy: one of :data:`WEB_STRATEGIES`.
        budget: limits for this run; the run stops cleanly when one would be passed.
        reset: how to start an episode (MiniWoB resets with a seed).
        checkpoint: a SQLite file for durable execution (``None``: in memory only).
        thread_id: names this run in the checkpoint file (default: task id and strategy).
        usage: a ledger to charge (default: a new one with ``budget``).
        judge_model: a separate model for the value judge (a small actor with a larger judge);
            its calls are charged to the same ledger.
        value_fn: the value function search scores states with (default: from ``config.value``,
            the judge on ``judge_model`` or ``model``, or the oracle).
    """
    name = check_web_strategy(strategy)
    config = config or WebAgentConfig()
    usage = usage or Usage(budget, name=f"web:{name}")
    task_id = task if isinstance(task, str) else str(task.task_id)
    intent = "" if isinstance(task, str) else (task.intent or "")
    if value_fn is None:
        value_fn = OracleValue() if config.value == "oracle" else ValueJudge(judge_model or model, config.judge)
    start_episode: Callable[[], EnvObservation] = reset or (lambda: env.reset(task))

    def reset_and_read_intent() -> EnvObservation:
        # Environments whose intent comes with the first observation (MiniWoB) fill it on reset.
        obs = start_episode()
        if not ctx.intent and obs.intent:
            ctx.intent = obs.intent
        return obs

    runtime = EnvRuntime(env, reset_and_read_intent, usage, snapshots=name in SEARCH_STRATEGIES)
    ctx = RunContext(runtime, WebActor(model, config.actor), value_fn, config, intent, task_id)

    def resumed(saved: dict) -> None:
        usage.add(saved.get("usage") or {})
        ctx.started -= (saved.get("usage") or {}).get("wall_seconds", 0.0)
        if not ctx.intent and saved.get("intent"):
            ctx.intent = saved["intent"]

    graph = WEB_STRATEGIES[name](ctx)
    state = run_durable(graph, checkpoint=checkpoint, thread_id=thread_id or f"{task_id}:{name}:{config.seed}",
                        on_resume=resumed, state_types=(TreeNode,))
    nodes = state.get("nodes", {})
    committed = [nodes[i] for i in state.get("committed", []) if i in nodes]
    final_path = committed[-1].path if committed else []
    if nodes:
        runtime.goto(final_path)  # the environment ends in the committed state
    trace = build_trace(state, task_id=task_id, intent=ctx.intent, strategy=name, model=model.name, config=config, runtime=runtime,
                        judge_model=value_fn.model_name)
    return WebRunResult(state.get("answer"), list(final_path), state.get("stop_reason") or "", usage.to_dict(), state, trace, runtime)

