"""Re-check before answering (interaction scaling as in "Thinking vs. Doing", TTI): when the
agent stops with an answer, the answer is held back and the agent is shown the page again with
a note asking it to check; it may confirm (stop again) or keep acting. Up to
``WebAgentConfig.rechecks`` re-checks per episode; each costs one actor call and no environment
step, and the horizon still bounds the environment steps.
"""

from __future__ import annotations

from langgraph.graph import StateGraph

from ponder.graphs.greedy import RECHECK_NOTE, build_agent_graph
from ponder.graphs.web_runtime import RunContext

__all__ = ["RECHECK_NOTE", "build_recheck_graph"]


def build_recheck_graph(ctx: RunContext, rechecks: int | None = None) -> StateGraph:
    """The single-trajectory agent with re-checks (``rechecks`` defaults to the config's)."""
    return build_agent_graph(ctx, rechecks=ctx.config.rechecks if rechecks is None else rechecks)
