"""Graph presets: test-time strategies for one question as :class:`~ponder.graphs.spec.GraphSpec` s
(:data:`GRAPH_PRESETS`; not to be confused with the web strategies of
:data:`ponder.graphs.web_agent.WEB_STRATEGIES`, which act in an environment).

Each function returns a validated spec; compile and run it like any other graph. They are the
classic ways to spend more compute on one question:

- :func:`single`: one call (the baseline).
- :func:`sample_verify`: ``n`` samples, a verifier scores each distinct answer, the best one wins
  (called ``best-of-n`` before; that name is kept as an alias, while the web strategy
  ``best-of-n`` reranks whole trajectories by a value function).
- :func:`self_consistency`: ``n`` samples and a vote (majority, or weighted by the samples'
  mean token probability).
- :func:`sequential_refinement`: one answer, then ``steps`` refine calls, each reading the last.
- :func:`hybrid`: ``width`` parallel generators, then ``steps`` refine calls over all of them.
- :func:`first_finish`: ``n`` samples decoded together; the first to finish (fewest tokens) wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from ponder.errors import ConfigError
from ponder.graphs.spec import GraphSpec, NodeSpec


def _spec(name: str, nodes: list[NodeSpec], edges: list[tuple[str, str]], **meta) -> GraphSpec:
    return GraphSpec(tuple(nodes), tuple(edges), name=name, meta=meta).validate(where=f"graph preset {name}")


def single(model: str, *, max_tokens: int = 32) -> GraphSpec:
    """One greedy call."""
    return _spec("single", [NodeSpec("answer", "generate", model, max_tokens=max_tokens, final=True)], [])


def sample_verify(model: str, n: int = 4, *, verifier: str | None = None, temperature: float = 0.7,
                  max_tokens: int = 32, verifier_votes: int = 1) -> GraphSpec:
    """``n`` samples; a verifier (``verifier`` or the same model) scores each distinct answer."""
    return _spec(
        "sample-verify",
        [NodeSpec("sample", "generate", model, n=n, temperature=temperature, max_tokens=max_tokens),
         NodeSpec("verify", "review", verifier or model, n=verifier_votes, max_tokens=3, final=True)],
        [("sample", "verify")],
    )


def self_consistency(model: str, n: int = 5, *, vote: str = "majority", temperature: float = 0.7,
                     max_tokens: int = 32) -> GraphSpec:
    """``n`` samples and a vote over their answers (``vote``: majority or weighted)."""
    return _spec(
        "self-consistency",
        [NodeSpec("sample", "generate", model, n=n, temperature=temperature, max_tokens=max_tokens),
         NodeSpec("vote", "select", vote=vote, final=True)],
        [("sample", "vote")],
    )


def sequential_refinement(model: str, steps: int = 2, *, max_tokens: int = 32) -> GraphSpec:
    """An answer followed by ``steps`` refine calls, each reading the previous answer."""
    if steps < 1:
        raise ConfigError(f"sequential refinement needs steps >= 1, got {steps}")
    nodes = [NodeSpec("draft", "generate", model, max_tokens=max_tokens)]
    edges = []
    for i in range(1, steps + 1):
        nodes.append(NodeSpec(f"refine{i}", "refine", model, max_tokens=max_tokens, final=i == steps))
        edges.append((nodes[-2].id, nodes[-1].id))
    return _spec("refinement", nodes, edges)


def hybrid(model: str, width: int = 3, steps: int = 1, *, refine_model: str | None = None,
           temperature: float = 0.7, max_tokens: int = 32) -> GraphSpec:
    """``width`` parallel generators (separate nodes, batched together), then ``steps`` refine
    calls; the first refine reads every generator's answer."""
    if width < 1 or steps < 1:
        raise ConfigError(f"hybrid needs width >= 1 and steps >= 1, got width={width}, steps={steps}")
    nodes = [NodeSpec(f"gen{i + 1}", "generate", model, temperature=temperature if width > 1 else None,
                      max_tokens=max_tokens) for i in range(width)]
    edges = []
    prev = [n.id for n in nodes]
    for i in range(1, steps + 1):
        node = NodeSpec(f"refine{i}", "refine", refine_model or model, max_tokens=max_tokens, final=i == steps)
        nodes.append(node)
        edges.extend((p, node.id) for p in prev)
        prev = [node.id]
    return _spec("hybrid", nodes, edges)


def first_finish(model: str, n: int = 4, *, temperature: float = 0.7, max_tokens: int = 32) -> GraphSpec:
    """``n`` samples decoded together; the answer of the one that finished first."""
    return _spec(
        "first-finish",
        [NodeSpec("sample", "generate", model, n=n, temperature=temperature, max_tokens=max_tokens),
         NodeSpec("first", "first", final=True)],
        [("sample", "first")],
    )


#: A graph preset's name (``ponder graph preset NAME``).
GraphPreset = Literal["single", "sample-verify", "self-consistency", "refinement", "hybrid", "first-finish"]

#: name -> builder taking the model name and keyword options (``ponder graph preset``)
GRAPH_PRESETS: dict[GraphPreset, Callable[..., GraphSpec]] = {
    "single": single,
    "sample-verify": sample_verify,
    "self-consistency": self_consistency,
    "refinement": sequential_refinement,
    "hybrid": hybrid,
    "first-finish": first_finish,
}


assert tuple(GRAPH_PRESETS) == get_args(GraphPreset), "every GraphPreset name has one builder"

#: Former names still accepted by :func:`preset` (old name -> current name).
PRESET_ALIASES: dict[str, GraphPreset] = {"best-of-n": "sample-verify"}


def preset(name: str, model: str, **options) -> GraphSpec:
    """Build a graph preset by name (or a former name, see :data:`PRESET_ALIASES`); unknown
    names and bad options are ConfigErrors."""
    key = PRESET_ALIASES.get(name, name)
    if key not in GRAPH_PRESETS:
        raise ConfigError(f"unknown graph preset {name!r}", hint=f"one of: {', '.join(GRAPH_PRESETS)}")
    try:
        return GRAPH_PRESETS[key](model, **options)  # type: ignore[index]
    except TypeError as e:
        raise ConfigError(f"graph preset {key}: {e}") from e
