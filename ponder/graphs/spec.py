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

Field types and ranges are declared once, on :class:`NodeSpec`, and checked by pydantic both for
spec files and for specs built in Python (:meth:`GraphSpec.validate`); the rules that span
fields or nodes (a model for LLM roles only, one final node, no cycle, ...) follow. Every error
is a :class:`~ponder.errors.ConfigError` that names the file, the node or edge, and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictStr,
    StringConstraints,
    TypeAdapter,
)
from pydantic import ValidationError as _PydanticError

from ponder.errors import ConfigError

#: What a node does with its context (see the module docstring).
Role = Literal["generate", "refine", "review", "fuse", "final", "retrieve", "select", "first"]
#: How a ``select`` node votes.
Vote = Literal["majority", "weighted"]
LLM_ROLES: tuple[Role, ...] = ("generate", "refine", "review", "fuse", "final", "retrieve")
RULE_ROLES: tuple[Role, ...] = ("select", "first")
ROLES: tuple[Role, ...] = get_args(Role)
VOTES: tuple[Vote, ...] = get_args(Vote)
assert set(ROLES) == set(LLM_ROLES) | set(RULE_ROLES)

_NodeId = Annotated[StrictStr, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")]


def _count(lo: int, hi: int) -> Any:
    return Annotated[int, Strict(), Field(ge=lo, le=hi)]


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph (field types and ranges are checked by :meth:`GraphSpec.validate`).

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

    __pydantic_config__ = ConfigDict(extra="forbid", revalidate_instances="always")

    id: _NodeId
    role: Role
    model: StrictStr | None = None
    n: _count(1, 64) = 1  # type: ignore[valid-type]
    temperature: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    max_tokens: _count(1, 4096) = 32  # type: ignore[valid-type]
    vote: Vote = "majority"
    final: StrictBool = False
    k: _count(1, 50) = 3  # type: ignore[valid-type]

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
        try:
            parsed = _SpecFile.model_validate(data)
        except _PydanticError as e:
            raise _config_error(e, where, data) from None
        spec = cls(tuple(parsed.nodes), tuple(parsed.edges or ()), name=parsed.name or "graph", meta=dict(parsed.meta or {}))
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
        for i, n in enumerate(self.nodes):
            try:
                _NODE.validate_python(n)
            except _PydanticError as e:
                raise _config_error(e, where, {"nodes": [{"id": m.id} for m in self.nodes]}, prefix=("nodes", i)) from None
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


def _edge_form(raw: Any) -> Any:
    """``{from:, to:}`` and ``"a -> b"`` as ``[a, b]`` (other forms are left to the type check)."""
    if isinstance(raw, dict) and set(raw) == {"from", "to"}:
        return [raw["from"], raw["to"]]
    if isinstance(raw, str) and "->" in raw:
        return [p.strip() for p in raw.split("->")]
    return raw


#: An edge in a spec file: ``[from, to]``, ``{from:, to:}`` or ``"a -> b"``.
Edge = Annotated[tuple[StrictStr, StrictStr], BeforeValidator(_edge_form)]


class _SpecFile(BaseModel):
    """The JSON/YAML form of a graph spec."""

    model_config = ConfigDict(extra="forbid")

    nodes: Annotated[list[NodeSpec], Field(min_length=1)]
    edges: list[Edge] | None = None
    name: StrictStr | None = None
    meta: dict[str, Any] | None = None


_NODE = TypeAdapter(NodeSpec)


def _config_error(e: _PydanticError, where: str, data: Any, *, prefix: tuple = ()) -> ConfigError:
    """A :class:`ConfigError` naming the place and the field of each of pydantic's errors."""
    problems = []
    for err in e.errors():
        loc = (*prefix, *err["loc"])
        place, field_name = _place(loc, data)
        kind = err["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            what = f"unknown key {field_name!r}"
            if not place:
                what = f"unknown top-level key {field_name!r} (use nodes, edges, name, meta)"
            elif place.startswith("node"):
                what += f" (allowed: {', '.join(f.name for f in NodeSpec.__dataclass_fields__.values())})"
        elif place.startswith("edges["):
            raw = data["edges"][loc[1]] if isinstance(data, dict) and isinstance(data.get("edges"), list) else None
            what = f"must be [from, to], {{from:, to:}} or 'a -> b', got {raw!r}"
        elif kind == "missing":
            what = f"{field_name} is missing" if field_name else "a required value is missing"
        else:
            got = f", got {err['input']!r}" if "input" in err and not isinstance(err["input"], (dict, list)) else ""
            msg = err["msg"][0].lower() + err["msg"][1:]
            what = f"{field_name}: {msg}{got}" if field_name else f"{msg}{got}"
        problems.append(f"{place}: {what}" if place else what)
    more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:])})" if len(problems) > 1 else ""
    return ConfigError(f"{where}: {problems[0]}{more}")


def _place(loc: tuple, data: Any) -> tuple[str, str]:
    """(where in the spec, the field) for a pydantic error location."""
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        raw = data.get("nodes")[loc[1]] if isinstance(data, dict) and isinstance(data.get("nodes"), list) else None
        label = f"node {raw['id']!r}" if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"] else f"nodes[{loc[1]}]"
        return label, ".".join(str(p) for p in loc[2:] if not isinstance(p, int))
    if len(loc) >= 2 and loc[0] == "edges" and isinstance(loc[1], int):
        return f"edges[{loc[1]}]", ""
    if len(loc) == 1:
        return ("", str(loc[0])) if loc[0] not in ("nodes", "edges", "name", "meta") else (f"{loc[0]!r}", "")
    return ".".join(str(p) for p in loc[:-1]), str(loc[-1])


def _check_node(n: NodeSpec, where: str) -> None:
    """The rules that span a node's fields (each field's own type and range are declared on it)."""
    label = f"{where}: node {n.id!r}"
    if n.uses_model and not n.model:
        raise ConfigError(f"{label}: role {n.role} needs a 'model'")
    if not n.uses_model and n.model:
        raise ConfigError(f"{label}: role {n.role} uses no model (remove 'model')")
    if n.role == "retrieve" and n.final:
        raise ConfigError(f"{label}: a retrieve node cannot be final (its output is passages, not an answer)")


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
