"""The cost model of a graph: prefill + decode FLOPs per node, normalised to one call of the
smallest model in the pool, plus a critical-path latency estimate.

A node's prompt holds the task (``base_prompt_tokens``) plus every predecessor's output, so its
cost grows with in-degree: ``prefill = base + sum(pred.n * pred.max_tokens)`` tokens, repeated for
each of its ``n`` samples (the batched backends duplicate the prompt per sample), and ``decode =
n * max_tokens``. FLOPs are ``2 * parameters * tokens`` (the forward-pass rule of thumb the
models module uses for measured usage, so estimate and measurement are comparable). A ``review``
node scores each incoming candidate separately. ``select``/``first`` nodes cost nothing. A ``retrieve`` node costs its query-writing call;
its passages are charged to the nodes that read them.

One *unit* is one call of the smallest pool model on a bare prompt with ``unit_max_tokens`` new
tokens, so a budget of 6 means "about six calls of the cheapest model per question".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ponder.errors import ConfigError, ModelNotFound
from ponder.graphs.spec import GraphSpec, NodeSpec


def registry_parameters(name: str) -> int:
    """A model's parameter count from the registry, without loading it (0 if unknown)."""
    from ponder.models.registry import resolve

    try:
        return int(resolve(name).parameters or 0)
    except ModelNotFound:
        raise
    except Exception:  # a broken ponder.toml is reported elsewhere
        return 0


@dataclass(frozen=True)
class NodeCost:
    node: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    flops: float
    units: float
    latency: float  # in units of one smallest-model call's decode time

    def to_dict(self) -> dict:
        return {
            "calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "flops": self.flops, "units": round(self.units, 4), "latency": round(self.latency, 4),
        }


@dataclass(frozen=True)
class GraphCost:
    nodes: dict[str, NodeCost]
    units: float
    flops: float
    latency: float  # critical path

    def to_dict(self) -> dict:
        return {"units": round(self.units, 4), "flops": self.flops, "latency": round(self.latency, 4),
                "nodes": {k: v.to_dict() for k, v in self.nodes.items()}}


@dataclass
class CostModel:
    """Estimates a spec's cost. ``parameters`` maps model names to parameter counts; names not
    in it are looked up in the registry (an unknown name raises ModelNotFound).

    Args:
        parameters: per-model parameter counts (overrides and non-registry models).
        base_prompt_tokens: the task part of every prompt (instructions + question).
        unit_max_tokens: new tokens in the reference call that defines one unit.
        pool: the models whose smallest defines the unit (default: those of the spec).
        passage_tokens: prompt tokens per retrieved passage (a ``retrieve`` node's successors
            read ``(n + 1) * k`` of them: the question's own search plus one per query).
    """

    parameters: Mapping[str, int] = field(default_factory=dict)
    base_prompt_tokens: int = 80
    unit_max_tokens: int = 32
    pool: tuple[str, ...] = ()
    passage_tokens: int = 100  # a retrieved passage in a successor's prompt

    def params(self, model: str) -> int:
        if model in self.parameters:
            return int(self.parameters[model])
        value = registry_parameters(model)
        if value <= 0:
            raise ConfigError(f"model {model!r} has no parameter count for the cost model",
                              hint="set parameters in its ponder.toml entry")
        return value

    def unit_flops(self, spec: GraphSpec | None = None) -> float:
        names = list(self.pool) or (spec.models() if spec is not None else list(self.parameters))
        if not names:
            raise ConfigError("the cost model needs at least one model to define its unit")
        smallest = min(self.params(m) for m in names)
        return 2.0 * smallest * (self.base_prompt_tokens + self.unit_max_tokens)

    def node_cost(self, spec: GraphSpec, node: NodeSpec, unit: float) -> NodeCost:
        if not node.uses_model:
            return NodeCost(node.id, 0, 0, 0, 0.0, 0.0, 0.0)
        preds = [spec.node(p) for p in spec.predecessors(node.id)]
        incoming = [((p.n + 1) * p.k * self.passage_tokens) if p.role == "retrieve"
                    else (p.n if p.role in ("generate", "refine") else 1) * p.max_tokens for p in preds]
        params = self.params(node.model or "")
        if node.role == "review":
            candidates = sum((p.n if p.role in ("generate", "refine") else 1) for p in preds)
            calls = candidates
            prompt = candidates * node.n * (self.base_prompt_tokens + max(incoming or [0]) // max(1, len(preds)))
            decode = candidates * node.n * node.max_tokens
        else:
            calls = 1
            prompt = node.n * (self.base_prompt_tokens + sum(incoming))
            decode = node.n * node.max_tokens
        flops = 2.0 * params * (prompt + decode)
        smallest = unit / (2.0 * (self.base_prompt_tokens + self.unit_max_tokens))
        # batched samples decode together: latency grows with tokens per sequence, not with n
        per_token = params / smallest
        latency = per_token * (node.max_tokens + (prompt / max(1, node.n * calls)) / 10) / (self.unit_max_tokens + self.base_prompt_tokens / 10)
        if node.role == "review":
            latency *= max(1, calls)
        return NodeCost(node.id, calls, int(prompt), int(decode), flops, flops / unit, latency)

    def estimate(self, spec: GraphSpec) -> GraphCost:
        unit = self.unit_flops(spec)
        costs = {n.id: self.node_cost(spec, n, unit) for n in spec.nodes}
        finish: dict[str, float] = {}
        for nid in spec.topological_order():
            finish[nid] = costs[nid].latency + max((finish[p] for p in spec.predecessors(nid)), default=0.0)
        flops = sum(c.flops for c in costs.values())
        return GraphCost(costs, flops / unit, flops, max(finish.values(), default=0.0))

    def units(self, spec: GraphSpec) -> float:
        return self.estimate(spec).units
