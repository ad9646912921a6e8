"""What every web strategy's graph runs on: the environment runtime (:class:`EnvRuntime`), the
context a strategy's nodes close over (:class:`RunContext`: stepping, charging, records, the
actor and the value function) and the graph state they share (:class:`RunState`).

The browser is not serialisable, so it never enters graph state. State holds the tree of visited
states as :class:`~ponder.graphs.state_tree.TreeNode` records (each with its action path from
reset); the :class:`EnvRuntime` outside the graph moves the environment to any recorded state:
nothing to do if it is already there, ``restore`` when a snapshot of that state exists in this
process, and ``replay`` otherwise (after a resume in a new process, or for environments that
cannot snapshot).

Every node charges its wall time, and the runtime charges environment steps and time, to the
run's :class:`~ponder.usage.Usage`; a node that would pass the budget ends the run with
``stop_reason = "budget"``, keeping what was found.

Strategy modules (``greedy``, ``recheck``, ``tree_search``, ``best_of_n``) import this module;
the strategy table in :mod:`ponder.graphs.web_agent` imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypedDict

from ponder.agents.value import JudgeInput, ValueFunction
from ponder.agents.web_actor import Candidate, WebActor, digest, seed_for, truncate
from ponder.environments.protocol import AgentEnv, EnvObservation, EnvStep
from ponder.errors import BudgetExceeded
from ponder.graphs.state_tree import TreeNode, lineage, merge_nodes
from ponder.graphs.web_config import WebAgentConfig
from ponder.usage import Usage

EXCERPT_CHARS = 600  # of each observation kept in state and traces (checkpointed every step)


class EnvRuntime:
    """Moves one environment between recorded states and charges its work to ``usage``.

    Args:
        env: the environment (its ``can_snapshot`` says whether snapshots are kept).
        reset: starts an episode and returns the first observation.
        usage: the run's ledger.
        snapshots: keep a snapshot of every visited state (search strategies).
    """

    def __init__(self, env: AgentEnv, reset: Callable[[], EnvObservation], usage: Usage, *, snapshots: bool = False):
        self.env = env
        self._reset = reset
        self.usage = usage
        self.keep_snapshots = snapshots and env.can_snapshot
        self.path: tuple[str, ...] | None = None  # actions applied since reset; None: unknown
        self.obs: EnvObservation | None = None
        self.snapshots: dict[tuple[str, ...], Any] = {}
        self.counts = {"reset": 0, "step": 0, "restore": 0, "replay": 0, "snapshot": 0}

    def _timed(self, fn: Callable, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.usage.charge(env_seconds=time.perf_counter() - start)

    def reset(self) -> EnvObservation:
        self.counts["reset"] += 1
        self.obs = self._timed(self._reset)
        self.path = ()
        self.remember()
        return self.obs

    def remember(self) -> None:
        """Snapshot the current state (search keeps one per visited state)."""
        if self.keep_snapshots and self.path is not None and self.path not in self.snapshots:
            self.counts["snapshot"] += 1
            self.snapshots[self.path] = self._timed(self.env.snapshot)

    def goto(self, path: list[str] | tuple[str, ...]) -> EnvObservation:
        """Put the environment in the state reached by ``path`` from reset; its observation."""
        path = tuple(path)
        if self.path == path and self.obs is not None:
            return self.obs
        sid = self.snapshots.get(path)
        if sid is not None:
            self.counts["restore"] += 1
            self.obs = self._timed(self.env.restore, sid)
        elif not path:
            return self.reset()
        else:
            if self.path is None:  # a fresh process (a resumed run): start an episode first
                self.reset()
            assert self.path is not None
            self.counts["replay"] += 1
            if path[: len(self.path)] == self.path:  # already on the way: take the rest
                rest = path[len(self.path):]
                self.usage.check(env_steps=len(rest))
                for action in rest:
                    self.obs = self._timed(self.env.step, action).observation
                self.usage.charge(env_steps=len(rest))
            else:
                self.usage.check(env_steps=len(path))
                self.obs = self._timed(self.env.replay, list(path))
                self.usage.charge(env_steps=len(path))
        self.path = path
        self.remember()
        assert self.obs is not None
        return self.obs

    def step(self, action: str) -> EnvStep:
        """One environment step (checked against and charged to the budget)."""
        self.usage.check(env_steps=1)
        self.counts["step"] += 1
        result = self._timed(self.env.step, action)
        self.usage.charge(env_steps=1)
        self.obs = result.observation
        self.path = None if self.path is None else (*self.path, action)
        self.remember()
        return result


class RunState(TypedDict, total=False):
    """What every web strategy's graph state holds (each strategy adds its own fields)."""

    intent: str
    nodes: Annotated[dict[str, TreeNode], merge_nodes]
    order: list[str]  # node ids in the order they were created (the viewer steps through it)
    committed: list[str]
    steps: int
    note: str
    halt: bool
    done: bool
    answer: str | None
    stop_reason: str
    usage: dict


@dataclass
class RunContext:
    """Everything a strategy's nodes close over (none of it goes into graph state)."""

    runtime: EnvRuntime
    actor: WebActor
    value_fn: ValueFunction  # the LLM judge, the oracle, or any other ValueFunction
    config: WebAgentConfig
    intent: str
    task_id: str
    started: float = field(default_factory=time.perf_counter)

    @property
    def usage(self) -> Usage:
        return self.runtime.usage

    def node(self, fn: Callable[[Any], dict]) -> Callable[[Any], dict]:
        """Wrap a graph node: charge its wall time, stop cleanly at the budget, and publish
        the usage so far in the state (a resumed run starts from it)."""

        def wrapped(state: dict) -> dict:
            start = time.perf_counter()
            try:
                update = fn(state)
            except BudgetExceeded as e:
                update = {"halt": True, "stop_reason": "budget", "note": f"budget: {e.field}"}
            self.usage.charge(wall_seconds=time.perf_counter() - start)
            update["usage"] = self.usage.to_dict()
            if "nodes" in update:  # send only the records this step added or replaced
                before = state.get("nodes") or {}
                update["nodes"] = {k: v for k, v in update["nodes"].items() if before.get(k) is not v}
            return update

        wrapped.__name__ = fn.__name__
        return wrapped

    # ---- records ----------------------------------------------------------------------------
    def record(self, nid: str, parent: TreeNode | None, action: str | None, obs: EnvObservation,
               result: EnvStep | None = None, **extra: Any) -> TreeNode:
        """The record of a new state (``extra``: the strategy's optional fields)."""
        info = result.info if result is not None else {}
        return TreeNode(
            id=nid,
            parent=parent.id if parent else None,
            action=action,
            depth=parent.depth + 1 if parent else 0,
            path=[*parent.path, action] if parent and action is not None else [],
            url=obs.url or "",
            digest=digest(obs.text),
            excerpt=truncate(obs.text, EXCERPT_CHARS),
            error=obs.last_action_error or "",
            done=bool(result is not None and result.done),
            answer=result.answer if result is not None else None,
            destructive=bool(info.get("destructive")),
            env_error=str(info.get("env_error") or ""),
            t=round(time.perf_counter() - self.started, 4),
            **extra,
        )

    def propose(self, node: TreeNode, obs: EnvObservation, *, n: int | None = None, note: str = "",
                salt: str = "act") -> list[Candidate]:
        return self.actor.propose(
            self.intent, obs.text, obs.url or "", node.path, error=obs.last_action_error or "",
            note=note, n=n, seed=seed_for(self.config.seed, self.task_id, node.id, salt), usage=self.usage,
        )

    def judge_input(self, nodes: dict[str, TreeNode], node: TreeNode, obs: EnvObservation | None = None) -> JudgeInput:
        chain = lineage(nodes, node)
        pages = [n.excerpt for n in chain[-self.config.judge.recent:]]
        if obs is not None:
            pages[-1] = obs.text
        return JudgeInput(self.intent, pages, list(node.path), node.answer, node.url)

    def value(self, nodes: dict[str, TreeNode], items: list[tuple[TreeNode, EnvObservation | None]],
              salt: str = "value") -> list[TreeNode]:
        """Value each (node, observation) in one batched call; returns updated records."""
        if not items:
            return []
        inputs = [self.judge_input(nodes, n, o) for n, o in items]
        seed = seed_for(self.config.seed, self.task_id, items[0][0].id, salt)
        judgements = self.value_fn.score_many(inputs, seed=seed, usage=self.usage, env=self.runtime.env)
        return [replace(n, value=j.value, values=list(j.samples), dist=j.dist or None)
                for (n, _), j in zip(items, judgements, strict=True)]
