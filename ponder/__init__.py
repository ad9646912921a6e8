"""ponder: LLM agents that get better by spending more compute at test time.

Three scaling axes: interaction (web agents, tree search over environment states), retrieval
(adaptive note-taking memory) and collaboration (optimised graphs of LLM calls).
"""

from ponder.errors import BudgetExceeded, PonderError
from ponder.usage import Budget, Usage

__version__ = "0.1.0"

__all__ = ["Budget", "BudgetExceeded", "PonderError", "Usage", "__version__", "load_model"]


def load_model(name: str | None = None, **kwargs):
    """Resolve a registry name (``smollm2-135m``, ``llamacpp:smollm2-135m``,
    ``openai:<model>@<base_url>``, ...) to a ready :class:`ponder.models.ChatModel`."""
    from ponder.models.registry import load_model as _load

    return _load(name, **kwargs)
