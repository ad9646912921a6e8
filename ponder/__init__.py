"""ponder: LLM agents that get better by spending more compute at test time.

Three scaling axes, each with its entry points here (the README shows one example per axis):

- interaction (web agents, tree search over environment states): :func:`run_web_task`;
- retrieval (QA over your own documents, Adaptive-Note memory): :func:`build_index`,
  :func:`answer_question`, :func:`open_index`;
- collaboration (graphs of LLM calls, optimised under a budget): :func:`preset_graph`,
  :class:`GraphSpec`, :func:`run_graph`, :func:`optimize_graph`.

Plus :func:`load_model`, the :class:`Budget`/:class:`Usage` ledger, and
:class:`ScriptedChatModel` for tests. Names other than the budget and error types are imported on
first use, so ``import ponder`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ponder.errors import BudgetExceeded, PonderError
from ponder.usage import Budget, Usage

__version__ = "0.1.0"

#: Lazily imported public names and the module each comes from.
_LAZY: dict[str, str] = {
    # models
    "ChatModel": "ponder.models.base",
    "ScriptedChatModel": "ponder.models.scripted",
    # interaction
    "run_web_task": "ponder.api",
    "WebTaskResult": "ponder.api",
    "WebAgentConfig": "ponder.graphs.web_agent",
    # retrieval
    "build_index": "ponder.api",
    "open_index": "ponder.retrieval.index",
    "Index": "ponder.retrieval.index",
    "answer_question": "ponder.graphs.qa_methods",
    "QAResult": "ponder.graphs.qa_methods",
    "QAMethod": "ponder.graphs.qa_methods",
    # collaboration
    "GraphSpec": "ponder.graphs.spec",
    "NodeSpec": "ponder.graphs.spec",
    "Query": "ponder.agents.solver",
    "GraphResult": "ponder.graphs.compile",
    "compile_graph": "ponder.graphs.compile",
    "preset_graph": "ponder.api",
    "run_graph": "ponder.api",
    "optimize_graph": "ponder.graphs.optimizer.optimize",
}

__all__ = [
    "Budget", "BudgetExceeded", "ChatModel", "GraphResult", "GraphSpec", "Index", "NodeSpec",
    "PonderError", "QAMethod", "QAResult", "Query", "ScriptedChatModel", "Usage", "WebAgentConfig",
    "WebTaskResult", "__version__", "answer_question", "build_index", "compile_graph", "load_model",
    "open_index", "optimize_graph", "preset_graph", "run_graph", "run_web_task",
]

if TYPE_CHECKING:  # what an IDE and a type checker see; at run time __getattr__ imports on first use
    from ponder.agents.solver import Query
    from ponder.api import WebTaskResult, build_index, preset_graph, run_graph, run_web_task
    from ponder.graphs.compile import GraphResult, compile_graph
    from ponder.graphs.optimizer.optimize import optimize_graph
    from ponder.graphs.qa_methods import QAMethod, QAResult, answer_question
    from ponder.graphs.spec import GraphSpec, NodeSpec
    from ponder.graphs.web_agent import WebAgentConfig
    from ponder.models.base import ChatModel
    from ponder.models.scripted import ScriptedChatModel
    from ponder.retrieval.index import Index, open_index


def load_model(name: str | None = None, **kwargs: Any) -> ChatModel:
    """Resolve a registry name (``smollm2-135m``, ``llamacpp:smollm2-135m``,
    ``openai:<model>@<base_url>``, ...) to a ready :class:`ponder.models.ChatModel`."""
    from ponder.models.registry import load_model as _load

    return _load(name, **kwargs)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ponder' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
