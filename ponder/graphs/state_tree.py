"""The tree of visited environment states that every web strategy builds: the :class:`TreeNode`
record, the graph-state reducer that merges new records in, and walks over the tree.

Records are immutable: a strategy that changes one (a value, its candidates, ``expanded``) makes
a new one with :func:`dataclasses.replace`, so a graph step's update can send only the records
it added or replaced (see :meth:`~ponder.graphs.web_runtime.RunContext.node`). A record
serialises to the trace JSON with :meth:`TreeNode.to_dict` (the 17 keys every node has, plus
the optional ones only where they are set, as traces have always been written).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ponder.errors import ConfigError

__all__ = ["TreeNode", "lineage", "merge_nodes", "subtree"]


@dataclass(frozen=True)
class TreeNode:
    """One visited state (a node of the search tree; a single trajectory is a chain of them).

    Attributes:
        id: ``n<k>``, k in creation order (``n0`` is the start state).
        parent: the parent's id (``None`` for the root).
        action: the action that led here from the parent (``None`` for the root).
        depth: environment steps from the start state.
        path: the actions from reset to this state (how a replay reaches it).
        url: the observation's URL.
        digest: a short fingerprint of the observation text.
        excerpt: the start of the observation text (what traces and the judge's history show).
        error: the environment's error for the action that led here (``""``: none).
        done: the episode ended here (the agent answered).
        answer: the answer given, when ``done``.
        destructive: the action that led here committed irreversible state.
        env_error: the environment itself failed on that action (``""``: it did not).
        value: the value function's value of this state, in [0, 1] (``None``: not valued).
        values: the value function's samples behind ``value``.
        candidates: the actions the actor proposed here (``Candidate.to_dict()``, plus
            ``recheck`` or ``traj`` where the strategy tags them).
        t: seconds since the run started when the record was made.
        dist: a graded judge's status probabilities (``None``: not graded).
        expanded: search proposed children here (``best-first``).
        deferred: a destructive action seen while searching and not taken; valued from the
            parent's page, executed only if committed (``best-first``).
        deferred_until_commit: a deferred action that was executed when it was committed.
        frequency: how many of the actor's samples proposed the action (``best-first``).
        tail: made after the last search round, acting greedily (``best-first``).
        traj: the trajectory this state belongs to (``best-of-n``).
    """

    id: str
    parent: str | None
    action: str | None
    depth: int
    path: list[str]
    url: str = ""
    digest: str = ""
    excerpt: str = ""
    error: str = ""
    done: bool = False
    answer: str | None = None
    destructive: bool = False
    env_error: str = ""
    value: float | None = None
    values: list[float | None] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    t: float = 0.0
    # optional: written to traces only where set
    dist: dict[str, float] | None = None
    expanded: bool = False
    deferred: bool = False
    deferred_until_commit: bool = False
    frequency: int | None = None
    tail: bool = False
    traj: int | None = None

    @property
    def open(self) -> bool:
        """Search may still go on from here: not answered, no environment error, not deferred."""
        return not (self.done or self.env_error or self.deferred)

    def to_dict(self) -> dict[str, Any]:
        """The trace JSON of this node (optional fields only where set)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _OPTIONAL and (v is None or v is False):  # not ``in (None, False)``: traj 0 is set
                continue
            out[f.name] = list(v) if f.name == "path" else v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "trace") -> TreeNode:
        """A node from its trace JSON (a :class:`ConfigError` names unknown or missing keys)."""
        unknown = set(data) - _FIELDS
        if unknown:
            raise ConfigError(f"{where}: node {data.get('id', '?')!r}: unknown key(s) {sorted(unknown)}")
        missing = {"id", "parent", "action", "depth", "path"} - set(data)
        if missing:
            raise ConfigError(f"{where}: node {data.get('id', '?')!r}: missing key(s) {sorted(missing)}")
        return cls(**{**data, "path": list(data["path"])})


_FIELDS = {f.name for f in fields(TreeNode)}
_OPTIONAL = {"dist", "expanded", "deferred", "deferred_until_commit", "frequency", "tail", "traj"}


def merge_nodes(old: dict[str, TreeNode] | None, new: dict[str, TreeNode] | None) -> dict[str, TreeNode]:
    """The state reducer for the tree: a step's update holds only new or replaced records, so a
    checkpoint's write stays small however large the tree grows."""
    return {**(old or {}), **(new or {})}


def lineage(nodes: dict[str, TreeNode], node: TreeNode) -> list[TreeNode]:
    """The records from the root to ``node``."""
    chain = [node]
    while chain[-1].parent is not None:
        chain.append(nodes[chain[-1].parent])
    return chain[::-1]


def subtree(nodes: dict[str, TreeNode], root: str) -> list[str]:
    """The ids of ``root`` and every node below it."""
    children: dict[str, list[str]] = {}
    for nid, n in nodes.items():
        if n.parent is not None:
            children.setdefault(n.parent, []).append(nid)
    out, stack = [], [root]
    while stack:
        nid = stack.pop()
        out.append(nid)
        stack.extend(children.get(nid, []))
    return out
