"""``GraphSpec``: a multi-LLM collaboration graph as data (JSON or YAML), validated.

Nodes are roles with a model; an edge ``a -> b`` puts ``a``'s output into ``b``'s context.
Exactly one node is final (its answer is the graph's answer) and the graph is acyclic. Every
node must reach the final node, since a node whose output goes nowhere is spend without effect.

    {"nodes": [{"id": "g", "role": "generate", "model": "smollm2-135m", "n": 5, "temperature": 0.7},
               {"id": "vote", "role": "select", "vote": "majority", "final": true}],
     "edges": [["g", "vote"]]}

Roles (what a node does with its context):

========== ===== ===========================================================================
role       model what it does
========== ===== ===========================================================================
generate   yes   answers the question (predecessor answers, if any, are shown as hints)
refine     yes   reads the predecessors' answers and writes a corrected answer
review     yes   a verifier: scores each predecessor candidate, outputs the best-scored one
fuse       yes   reads the candidates and writes one final answer (an LLM aggregator)
final      yes   same as ``fuse``, and marks the node final
retrieve   yes   writes ``n`` search queries, retrieves ``k`` passages for each (and for the
                 question itself); successors answer with the passages as context
select     no    votes over the predecessors' candidates (``vote``: majority or weighted)
first      no    first-finish: the candidate that finished first (fewest generated tokens)
========== ===== ===========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError

LLM_ROLES = ("generate", "refine", "review", "fuse", "final", "retrieve")
RULE_ROLES = ("select", "first")
ROLES = LLM_ROLES + RULE_ROLES
VOTES = ("majority", "weighted")

_NODE_KEYS = {"id", "role", "model", "n", "temperature", "max_tokens", "vote", "final", "k"}


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph.

    Args:
        id: a unique name (letters, digits, ``_``, ``-``).
        role: one of :data:`ROLES`.
        model: a registry name; required for LLM roles, absent for ``select``/``first``.
        n: samples drawn in one batched call (``generate``/``refine``) or verifier votes.
        temperature: sampling temperature; ``None`` means 0 for one sample, 0.7 for several.
        max_tokens: new tokens per sample.
        vote: ``majority`` or ``weighted`` (by the sample's mean token probability), for ``select``.
        final: this node's answer is the graph's answer.
        k: passages per search query (``retrieve`` only).
    """

    id: str
    role: str
    model: str | None = None
    n: int = 1
    temperature: float | None = None
    max_tokens: int = 32
    vote: str = "majority"
    final: bool = False
    k: int = 3

    @property
    def uses_model(self) -> bool:
        return self.role in LLM_ROLES

    @property
    def sampling_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.n == 1 else 0.7

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "role": self.role}
        if self.model is not None:
            out["model"] = self.model
        if self.n != 1:
            out["n"] = self.n
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.max_tokens != 32 and self.uses_model:
            out["max_tokens"] = self.max_tokens
        if self.role == "select":
            out["vote"] = self.vote
        if self.final:
            out["final"] = True
        if self.role == "retrieve":
            out["k"] = self.k
        return out


@dataclass(frozen=True)
class GraphSpec:
    """A validated collaboration graph. Build with :meth:`from_dict`, :meth:`load` or the
    constructor followed by :meth:`validate` (the constructors call it)."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[tuple[str, str], ...] = ()
    name: str = "graph"
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, where: str = "spec") -> GraphSpec:
        """Parse and validate a dict (the JSON/YAML form). Errors name the node or edge."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a graph spec must be a mapping with 'nodes' and 'edges'")
        unknown = set(data) - {"nodes", "edges", "name", "meta"}
        if unknown:
            raise ConfigError(f"{where}: unknown top-level key(s) {sorted(unknown)}", hint="use nodes, edges, name, meta")
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list) or not raw_nodes:
            raise ConfigError(f"{where}: 'nodes' must be a non-empty list")
        nodes = [_parse_node(raw, i, where) for i, raw in enumerate(raw_nodes)]
        edges = [_parse_edge(raw, i, where) for i, raw in enumerate(data.get("edges") or [])]
        spec = cls(tuple(nodes), tuple(edges), name=str(data.get("name") or "graph"), meta=dict(data.get("meta") or {}))
        spec.validate(where=where)
        return spec

    @classmethod
    def load(cls, path: str | Path) -> GraphSpec:
        """Read a ``.json`` or ``.yaml``/``.yml`` file. A file that holds an optimizer result
        (``{"graph": {...}, ...}``) works too."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"graph spec file not found: {path}")
        text = path.read_text()
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
            raise ConfigError(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: {e}") from e
        if isinstance(data, dict) and "graph" in data and "nodes" not in data:
            data = data["graph"]
        return cls.from_dict(data, where=str(path))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "nodes": [n.to_dict() for n in self.nodes], "edges": [list(e) for e in self.edges]}
        if self.meta:
            out["meta"] = self.meta
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def key(self) -> str:
        """A canonical string for caching: equal graphs (ignoring name/meta) give equal keys."""
        nodes = sorted(json.dumps(n.to_dict(), sort_keys=True) for n in self.nodes)
        return json.dumps({"nodes": nodes, "edges": sorted(list(e) for e in self.edges)}, sort_keys=True)

    # ---- queries ---------------------------------------------------------------------------
    def node(self, node_id: str) -> NodeSpec:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def final(self) -> NodeSpec:
        return next(n for n in self.nodes if n.final or n.role == "final")

    def predecessors(self, node_id: str) -> list[str]:
        return [a for a, b in self.edges if b == node_id]

    def successors(self, node_id: str) -> list[str]:
        return [b for a, b in self.edges if a == node_id]

    def topological_order(self) -> list[str]:
        order, _ = _toposort([n.id for n in self.nodes], self.edges)
        return order

    def levels(self) -> dict[str, int]:
        """Longest-path depth of each node from a source: nodes on one level run together."""
        level: dict[str, int] = {}
        for nid in self.topological_order():
            preds = self.predecessors(nid)
            level[nid] = 1 + max((level[p] for p in preds), default=-1)
        return level

    def models(self) -> list[str]:
        return sorted({n.model for n in self.nodes if n.model})

    def with_models(self, mapping: dict[str, str]) -> GraphSpec:
        """A copy with models renamed (``{"old": "new"}``)."""
        nodes = tuple(replace(n, model=mapping.get(n.model, n.model)) if n.model else n for n in self.nodes)
        return replace(self, nodes=nodes)

    # ---- validation --------------------------------------------------------------------------
    def validate(self, *, where: str = "spec", known_models: Iterable[str] | None = None) -> GraphSpec:
        """Check structure (and, given ``known_models``, model names); raise ConfigError naming
        the node or edge at fault. Returns self for chaining."""
        ids = [n.id for n in self.nodes]
        seen: set[str] = set()
        for n in self.nodes:
            if n.id in seen:
                raise ConfigError(f"{where}: node id {n.id!r} is used twice")
            seen.add(n.id)
            _check_node(n, where)
        for a, b in self.edges:
            for end in (a, b):
                if end not in seen:
                    raise ConfigError(f"{where}: edge {a} -> {b} names unknown node {end!r}", hint=f"nodes: {', '.join(ids)}")
            if a == b:
                raise ConfigError(f"{where}: edge {a} -> {b} is a self-loop")
        if len(set(self.edges)) != len(self.edges):
            dup = next(e for e in self.edges if self.edges.count(e) > 1)
            raise ConfigError(f"{where}: edge {dup[0]} -> {dup[1]} is listed twice")
        finals = [n.id for n in self.nodes if n.final or n.role == "final"]
        if len(finals) != 1:
            raise ConfigError(
                f"{where}: exactly one node must be final, found {len(finals)}" + (f" ({', '.join(finals)})" if finals else ""),
                hint="mark the answering node with final: true (or give it role: final)",
            )
        order, cycle = _toposort(ids, self.edges)
        if cycle:
            raise ConfigError(f"{where}: the edges form a cycle through {' -> '.join(cycle)}", hint="a graph spec must be acyclic")
        final = finals[0]
        if self.successors(final):
            raise ConfigError(f"{where}: final node {final!r} has outgoing edge(s) to {', '.join(self.successors(final))}")
        reaching = _ancestors(final, self.edges) | {final}
        for nid in ids:
            if nid not in reaching:
                raise ConfigError(f"{where}: node {nid!r} never reaches the final node {final!r}", hint=f"add an edge from {nid} towards {final}, or remove it")
        for n in self.nodes:
            preds = self.predecessors(n.id)
            if n.role in ("refine", "review", "fuse", "final", "select", "first") and not preds:
                raise ConfigError(f"{where}: node {n.id!r} (role {n.role}) needs at least one incoming edge")
        if known_models is not None:
            known = set(known_models)
            for n in self.nodes:
                if n.model and n.model not in known:
                    raise ConfigError(f"{where}: node {n.id!r} uses unknown model {n.model!r}", hint=f"known: {', '.join(sorted(known))}")
        return self

    def check_models(self, *, where: str = "spec") -> None:
        """Resolve every model name against the registry (no loading); raise ModelNotFound
        naming the node."""
        from ponder.errors import ModelNotFound
        from ponder.models.registry import resolve

        for n in self.nodes:
            if n.model:
                try:
                    resolve(n.model)
                except ModelNotFound as e:
                    raise ModelNotFound(f"{where}: node {n.id!r}: {e.message}", hint=e.hint) from e


def _parse_node(raw: Any, i: int, where: str) -> NodeSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: nodes[{i}] must be a mapping, got {type(raw).__name__}")
    label = f"node {raw.get('id', f'#{i}')!r}"
    unknown = set(raw) - _NODE_KEYS
    if unknown:
        raise ConfigError(f"{where}: {label}: unknown key(s) {sorted(unknown)}", hint=f"allowed: {', '.join(sorted(_NODE_KEYS))}")
    if "id" not in raw or not isinstance(raw["id"], str) or not raw["id"]:
        raise ConfigError(f"{where}: nodes[{i}] needs a non-empty string 'id'")
    if "role" not in raw:
        raise ConfigError(f"{where}: {label} needs a 'role'", hint=f"one of {', '.join(ROLES)}")

    def num(key, kind, default):
        if key not in raw or raw[key] is None:
            return default
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and int(value) != value):
            raise ConfigError(f"{where}: {label}: {key} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        return kind(value)

    return NodeSpec(
        id=raw["id"],
        role=str(raw["role"]),
        model=raw.get("model"),
        n=num("n", int, 1),
        temperature=num("temperature", float, None),
        max_tokens=num("max_tokens", int, 32),
        vote=str(raw.get("vote", "majority")),
        final=bool(raw.get("final", False)),
        k=num("k", int, 3),
    )


def _parse_edge(raw: Any, i: int, where: str) -> tuple[str, str]:
    if isinstance(raw, dict) and set(raw) == {"from", "to"}:
        raw = [raw["from"], raw["to"]]
    if isinstance(raw, str) and "->" in raw:
        raw = [p.strip() for p in raw.split("->")]
    if not (isinstance(raw, (list, tuple)) and len(raw) == 2 and all(isinstance(x, str) for x in raw)):
        raise ConfigError(f"{where}: edges[{i}] must be [from, to], {{from:, to:}} or 'a -> b', got {raw!r}")
    return raw[0], raw[1]


def _check_node(n: NodeSpec, where: str) -> None:
    label = f"{where}: node {n.id!r}"
    if not n.id.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{label}: id may hold only letters, digits, '_' and '-'")
    if n.role not in ROLES:
        raise ConfigError(f"{label}: unknown role {n.role!r}", hint=f"one of {', '.join(ROLES)}")
    if n.uses_model and not n.model:
        raise ConfigError(f"{label}: role {n.role} needs a 'model'")
    if not n.uses_model and n.model:
        raise ConfigError(f"{label}: role {n.role} uses no model (remove 'model')")
    if not 1 <= n.n <= 64:
        raise ConfigError(f"{label}: n must be between 1 and 64, got {n.n}")
    if n.temperature is not None and not 0 <= n.temperature <= 2:
        raise ConfigError(f"{label}: temperature must be in [0, 2], got {n.temperature}")
    if not 1 <= n.max_tokens <= 4096:
        raise ConfigError(f"{label}: max_tokens must be between 1 and 4096, got {n.max_tokens}")
    if not 1 <= n.k <= 50:
        raise ConfigError(f"{label}: k must be between 1 and 50, got {n.k}")
    if n.role == "retrieve" and n.final:
        raise ConfigError(f"{label}: a retrieve node cannot be final (its output is passages, not an answer)")
    if n.vote not in VOTES:
        raise ConfigError(f"{label}: vote must be one of {', '.join(VOTES)}, got {n.vote!r}")


def _toposort(ids: list[str], edges: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Kahn's order (stable: ties keep declaration order); on a cycle, return one cycle."""
    edges = list(edges)
    indeg = dict.fromkeys(ids, 0)
    for _, b in edges:
        indeg[b] += 1
    ready = [i for i in ids if indeg[i] == 0]
    order: list[str] = []
    while ready:
        nid = ready.pop(0)
        order.append(nid)
        for a, b in edges:
            if a == nid:
                indeg[b] -= 1
                if indeg[b] == 0:
                    ready.append(b)
    if len(order) == len(ids):
        return order, []
    # walk predecessors inside the remainder until a node repeats
    left = {i for i in ids if i not in order}
    node = next(iter(sorted(left)))
    path: list[str] = []
    while node not in path:
        path.append(node)
        node = next(a for a, b in edges if b == node and a in left)
    cycle = path[path.index(node):][::-1]
    return order, cycle + [cycle[0]]


def _ancestors(node: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    edges = list(edges)
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        for a, b in edges:
            if b == cur and a not in found:
                found.add(a)
                stack.append(a)
    return found
