"""LangGraph StateGraphs: the web strategies (greedy, re-check, best-first tree search and
best-of-N trajectories: :data:`WEB_STRATEGIES`, run with :func:`run_web`); collaboration graphs
compiled from a ``GraphSpec`` (with the presets of :data:`GRAPH_PRESETS`); the Adaptive-Note
retrieval loop.

Imports are lazy so ``import ponder.graphs`` stays cheap; the names below resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "WebAgentConfig": "ponder.graphs.web_config",
    "WebStrategy": "ponder.graphs.web_config",
    "WebRunResult": "ponder.graphs.web_agent",
    "EnvRuntime": "ponder.graphs.web_runtime",
    "TreeNode": "ponder.graphs.state_tree",
    "run_web": "ponder.graphs.web_agent",
    "WEB_STRATEGIES": "ponder.graphs.web_agent",
    "GRAPH_PRESETS": "ponder.graphs.strategies",
    "build_agent_graph": "ponder.graphs.greedy",
    "build_recheck_graph": "ponder.graphs.recheck",
    "build_tree_search": "ponder.graphs.tree_search",
    "build_best_of_n": "ponder.graphs.best_of_n",
    "build_trace": "ponder.graphs.trace",
    "write_trace": "ponder.graphs.trace",
    "load_trace": "ponder.graphs.trace",
    "render_html": "ponder.graphs.trace",
    "GraphSpec": "ponder.graphs.spec",
    "NodeSpec": "ponder.graphs.spec",
    "compile_graph": "ponder.graphs.compile",
    "CostModel": "ponder.graphs.cost",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ponder.graphs' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
