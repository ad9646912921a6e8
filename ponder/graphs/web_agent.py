"""The single-trajectory web agent (observe, act, step) as a LangGraph StateGraph, and what all
web strategies share: the run configuration, the environment runtime, durable execution.

The browser is not serialisable, so it never enters graph state. State holds the tree of visited
states as plain records (each with its action path from reset); an :class:`EnvRuntime` outside
the graph moves the environment to any recorded state: nothing to do if it is already there,
``restore`` when a snapshot of that state exists in this process, and reset-and-replay
otherwise (after a resume in a new process, or for environments that cannot snapshot).

Every node charges its wall time, and the runtime charges environment steps and time, to the
run's :class:`~ponder.usage.Usage`; a node that would pass the budget ends the run with
``stop_reason = "budget"``, keeping what was found. With a checkpoint path, LangGraph's SQLite
checkpointer writes every step synchronously, so a killed run resumes at the node it was in.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from ponder.agents.value_judge import JudgeConfig, JudgeInput, OracleValue, ValueJudge
from ponder.agents.web_actor import ActorConfig, Candidate, WebActor, digest, seed_for, truncate
from ponder.errors import BudgetExceeded, ConfigError
from ponder.models.base import ChatModel
from ponder.usage import Budget, Usage

STRATEGIES = ("greedy", "recheck", "best-first", "best-of-n")
#: The strategies that search over states: they snapshot, and a value judge scores what they find.
SEARCH_STRATEGIES = ("best-first", "best-of-n")
EXCERPT_CHARS = 600  # of each observation kept in state and traces (checkpointed every step)


@dataclass(frozen=True)
class WebAgentConfig:
    """Settings of every web strategy (each uses the ones it needs).

    Args:
        horizon: the most environment steps on the committed trajectory.
        actor: how candidate actions are sampled.
        judge: how states are valued.
        rechecks: re-check prompts after the agent answers (``recheck``).
        branching: children expanded per node, the most frequent candidates (``best-first``).
        depth: how deep one search round goes below its root (``best-first``).
        value_budget: value-judge calls per search round, ``c`` in Koh et al. (``best-first``).
        threshold: a value at or above this ends a search round at once (``best-first``).
        trajectories: N sampled trajectories to rerank (``best-of-n``).
        search_rounds: search rounds, each followed by a commit; after the last one the agent
            acts greedily to the horizon (``best-first``; 0: search until the committed
            trajectory answers or reaches the horizon).
        value: ``"judge"`` (the model) or ``"oracle"`` (the environment's evaluator, an upper bound).
        seed: the run's seed; every model call's seed derives from it and the node id.
    """

    horizon: int = 6
    actor: ActorConfig = field(default_factory=ActorConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    rechecks: int = 1
    branching: int = 3
    depth: int = 3
    value_budget: int = 10
    threshold: float = 1.0
    trajectories: int = 4
    search_rounds: int = 0
    value: str = "judge"
    seed: int = 0

    def __post_init__(self):
        if self.search_rounds < 0:
            raise ConfigError(f"WebAgentConfig.search_rounds must be >= 0, got {self.search_rounds}")
        for name in ("horizon", "branching", "depth", "value_budget", "trajectories"):
            if getattr(self, name) < 1:
                raise ConfigError(f"WebAgentConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.rechecks < 0:
            raise ConfigError(f"WebAgentConfig.rechecks must be >= 0, got {self.rechecks}")
        if self.value not in ("judge", "oracle"):
            raise ConfigError(f"WebAgentConfig.value must be 'judge' or 'oracle', got {self.value!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class EnvRuntime:
    """Moves one environment between recorded states and charges its work to ``usage``."""

    def __init__(self, env: Any, reset: Callable[[], Any], usage: Usage, *, snapshots: bool = False):
        self.env = env
        self._reset = reset
        self.usage = usage
        self.keep_snapshots = snapshots and bool(getattr(env, "can_snapshot", False))
        self.path: tuple[str, ...] | None = None  # actions applied since reset; None: unknown
        self.obs: Any = None
        self.snapshots: dict[tuple[str, ...], Any] = {}
        self.counts = {"reset": 0, "step": 0, "restore": 0, "replay": 0, "snapshot": 0}

    def _timed(self, fn: Callable, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.usage.charge(env_seconds=time.perf_counter() - start)

    def reset(self) -> Any:
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

    def goto(self, path: list[str] | tuple[str, ...]) -> Any:
        """Put the environment in the state reached by ``path`` from reset; its observation."""
        path = tuple(path)
        if self.path == path:
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
            elif hasattr(self.env, "replay"):
                rest = ()
                self.usage.check(env_steps=len(path))
                self.obs = self._timed(self.env.replay, list(path))
                self.usage.charge(env_steps=len(path))
            else:
                self._timed(self._reset)
                rest = path
            self.usage.check(env_steps=len(rest))
            for action in rest:
                self.obs = self._timed(self.env.step, action).observation
            self.usage.charge(env_steps=len(rest))
        self.path = path
        self.remember()
        return self.obs

    def step(self, action: str) -> Any:
        """One environment step (checked against and charged to the budget)."""
        self.usage.check(env_steps=1)
        self.counts["step"] += 1
        result = self._timed(self.env.step, action)
        self.usage.charge(env_steps=1)
        self.obs = result.observation
        self.path = None if self.path is None else (*self.path, action)
        self.remember()
        return result


@dataclass
class RunContext:
    """Everything a strategy's nodes close over (none of it goes into graph state)."""

    runtime: EnvRuntime
    actor: WebActor
    judge: ValueJudge | OracleValue
    config: WebAgentConfig
    intent: str
    task_id: str
    started: float = field(default_factory=time.perf_counter)

    @property
    def usage(self) -> Usage:
        return self.runtime.usage

    def node(self, fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
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
    def record(self, nid: str, parent: dict | None, action: str | None, obs: Any, result: Any = None, **extra: Any) -> dict:
        """The state record of a node (plain data: it is checkpointed)."""
        info = getattr(result, "info", None) or {}
        return {
            "id": nid,
            "parent": parent["id"] if parent else None,
            "action": action,
            "depth": parent["depth"] + 1 if parent else 0,
            "path": [*parent["path"], action] if parent else [],
            "url": getattr(obs, "url", ""),
            "digest": digest(obs.text),
            "excerpt": truncate(obs.text, EXCERPT_CHARS),
            "error": getattr(obs, "last_action_error", "") or "",
            "done": bool(result is not None and result.done),
            "answer": result.answer if result is not None else None,
            "destructive": bool(info.get("destructive")),
            "env_error": str(info.get("env_error") or "") if info.get("env_error") else "",
            "value": None,
            "values": [],
            "candidates": [],
            "t": round(time.perf_counter() - self.started, 4),
            **extra,
        }

    def propose(self, node: dict, obs: Any, *, n: int | None = None, note: str = "", salt: str = "act") -> list[Candidate]:
        return self.actor.propose(
            self.intent, obs.text, getattr(obs, "url", ""), node["path"], error=getattr(obs, "last_action_error", "") or "",
            note=note, n=n, seed=seed_for(self.config.seed, self.task_id, node["id"], salt), usage=self.usage,
        )

    def judge_input(self, nodes: dict[str, dict], node: dict, obs: Any | None = None) -> JudgeInput:
        chain = lineage(nodes, node)
        pages = [n["excerpt"] for n in chain[-self.config.judge.recent:]]
        if obs is not None:
            pages[-1] = obs.text
        return JudgeInput(self.intent, pages, list(node["path"]), node.get("answer"), node.get("url", ""))

    def value(self, nodes: dict[str, dict], items: list[tuple[dict, Any]], salt: str = "value") -> list[dict]:
        """Value each (node, observation) in one batched call; returns updated records."""
        if not items:
            return []
        inputs = [self.judge_input(nodes, n, o) for n, o in items]
        seed = seed_for(self.config.seed, self.task_id, items[0][0]["id"], salt)
        judgements = self.judge.score_many(inputs, seed=seed, usage=self.usage, env=self.runtime.env)
        return [{**n, "value": j.value, "values": j.samples, **({"dist": j.dist} if j.dist else {})}
                for (n, _), j in zip(items, judgements, strict=True)]


def merge_nodes(old: dict[str, dict] | None, new: dict[str, dict] | None) -> dict[str, dict]:
    """The state reducer for the tree: a step's update holds only new or replaced records, so a
    checkpoint's write stays small however large the tree grows."""
    return {**(old or {}), **(new or {})}


def lineage(nodes: dict[str, dict], node: dict) -> list[dict]:
    """The records from the root to ``node``."""
    chain = [node]
    while chain[-1]["parent"] is not None:
        chain.append(nodes[chain[-1]["parent"]])
    return chain[::-1]


class RunState(TypedDict, total=False):
    """What every web strategy's graph state holds (each strategy adds its own fields)."""

    intent: str
    nodes: Annotated[dict[str, dict], merge_nodes]
    order: list[str]  # node ids in the order they were created (the viewer steps through it)
    committed: list[str]
    steps: int
    note: str
    halt: bool
    done: bool
    answer: str | None
    stop_reason: str
    usage: dict


class AgentState(RunState, total=False):
    current: str
    rechecks: int


RECHECK_NOTE = (
    "You were about to answer: {action}. Before it is final, check the page again. "
    "If it is right, reply with the same stop action; otherwise reply with a better action."
)


def build_agent_graph(ctx: RunContext, *, rechecks: int = 0) -> StateGraph:
    """The observe-act-step loop up to the horizon; with ``rechecks`` > 0 an answer (``stop``)
    is held back and the agent is asked to check the page again, up to ``rechecks`` times."""

    def start(state: AgentState) -> dict:
        obs = ctx.runtime.reset()
        root = ctx.record("n0", None, None, obs)
        return {"intent": ctx.intent, "nodes": {"n0": root}, "order": ["n0"], "current": "n0", "committed": ["n0"], "steps": 0,
                "rechecks": 0, "note": "", "halt": False, "done": False, "answer": None, "stop_reason": ""}

    def act(state: AgentState) -> dict:
        nodes = dict(state["nodes"])
        node = nodes[state["current"]]
        obs = ctx.runtime.goto(node["path"])
        cands = ctx.propose(node, obs, note=state.get("note", ""), salt=f"act{state.get('rechecks', 0)}")
        action = cands[0].action
        seen = [*node["candidates"], *[{**c.to_dict(), "recheck": state.get("rechecks", 0)} for c in cands]]
        nodes[node["id"]] = {**node, "candidates": seen}
        if action.startswith("stop") and state.get("rechecks", 0) < rechecks:
            return {"nodes": nodes, "rechecks": state.get("rechecks", 0) + 1, "note": RECHECK_NOTE.format(action=action)}
        result = ctx.runtime.step(action)
        nid = f"n{len(nodes)}"
        child = ctx.record(nid, node, action, result.observation, result)
        nodes[nid] = child
        update = {"nodes": nodes, "order": [*state["order"], nid], "current": nid, "committed": [*state["committed"], nid],
                  "steps": state["steps"] + 1, "note": ""}
        if child["env_error"]:
            update.update(halt=True, stop_reason="env_error")
        elif result.done:
            update.update(done=True, answer=result.answer, stop_reason="answered")
        elif state["steps"] + 1 >= ctx.config.horizon:
            update.update(stop_reason="horizon")
        return update

    def route(state: AgentState) -> str:
        if state.get("halt") or state.get("done") or state.get("steps", 0) >= ctx.config.horizon:
            return END
        return "act"

    graph = StateGraph(AgentState)
    graph.add_node("start", ctx.node(start))
    graph.add_node("act", ctx.node(act))
    graph.add_edge(START, "start")
    graph.add_conditional_edges("start", route, ["act", END])
    graph.add_conditional_edges("act", route, ["act", END])
    return graph


# ---- running ---------------------------------------------------------------------------------


def run_durable(
    graph: StateGraph,
    *,
    checkpoint: str | Path | None,
    thread_id: str,
    on_resume: Callable[[dict], None] | None = None,
    recursion_limit: int = 100_000,
) -> dict:
    """Run ``graph`` to the end and return its final state. With ``checkpoint`` (a SQLite
    file), every step is written synchronously and a run with the same ``thread_id`` continues
    from the last step written (``on_resume`` first receives the saved state)."""
    config: dict = {"recursion_limit": recursion_limit, "configurable": {"thread_id": thread_id}}
    if checkpoint is None:
        return graph.compile().invoke({}, config)
    from langgraph.checkpoint.sqlite import SqliteSaver

    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(checkpoint), check_same_thread=False, timeout=60)
    # WAL with synchronous=NORMAL: every step is committed before the next node runs, so a killed
    # process loses nothing; only an OS crash could lose the last step (which is then redone).
    _wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        app = graph.compile(checkpointer=SqliteSaver(conn))
        saved = app.get_state(config)
        if saved.values and on_resume is not None:
            on_resume(dict(saved.values))
        if saved.values and not saved.next:
            return dict(saved.values)
        return app.invoke(None if saved.next else {}, config, durability="sync")
    finally:
        conn.close()


def _wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch ``conn``'s file to WAL. On a new file shared by several workers the switch needs an
    exclusive lock that SQLite's busy timeout does not wait for ("database is locked" at once),
    so it is retried with a growing pause."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def forget_thread(checkpoint: str | Path, thread_id: str) -> None:
    """Delete a finished run's checkpoints (keeps the file small)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(checkpoint), check_same_thread=False, timeout=60)
    try:
        SqliteSaver(conn).delete_thread(thread_id)
    finally:
        conn.close()


@dataclass
class WebRunResult:
    """What a web strategy returns: the answer and committed actions, why it stopped, the
    usage, the final graph state and the trace (see :mod:`ponder.graphs.trace`)."""

    answer: str | None
    actions: list[str]
    stop_reason: str
    usage: dict
    state: dict
    trace: dict
    runtime: EnvRuntime


def run_web(
    env: Any,
    task: Any,
    model: ChatModel,
    *,
    strategy: str = "greedy",
    config: WebAgentConfig | None = None,
    budget: Budget | None = None,
    reset: Callable[[], Any] | None = None,
    checkpoint: str | Path | None = None,
    thread_id: str | None = None,
    usage: Usage | None = None,
    judge_model: ChatModel | None = None,
) -> WebRunResult:
    """Run one web strategy on one task and leave ``env`` in the committed final state (so
    ``env.evaluate()`` scores the run).

    Args:
        env: a :class:`~ponder.environments.webenv.WebEnv` (or anything with its interface).
        task: the task given to ``env.reset`` (unless ``reset`` is passed); its ``intent`` (or
            the first observation's) is the objective.
        model: the model behind the actor (and the value judge unless ``judge_model`` is given).
        strategy: one of :data:`STRATEGIES`.
        budget: limits for this run; the run stops cleanly when one would be passed.
        reset: how to start an episode (MiniWoB resets with a seed).
        checkpoint: a SQLite file for durable execution (``None``: in memory only).
        thread_id: names this run in the checkpoint file (default: task id and strategy).
        usage: a ledger to charge (default: a new one with ``budget``).
        judge_model: a separate model for the value judge (a small actor with a larger judge);
            its calls are charged to the same ledger.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown web strategy {strategy!r}", hint=f"one of: {', '.join(STRATEGIES)}")
    config = config or WebAgentConfig()
    usage = usage or Usage(budget, name=f"web:{strategy}")
    reset_fn = reset or (lambda: env.reset(task))
    search = strategy in SEARCH_STRATEGIES
    runtime = EnvRuntime(env, reset_fn, usage, snapshots=search)
    judge = OracleValue() if config.value == "oracle" else ValueJudge(judge_model or model, config.judge)
    task_id = str(getattr(task, "task_id", None) or task)
    ctx = RunContext(runtime, WebActor(model, config.actor), judge, config, getattr(task, "intent", "") or "", task_id)

    def resumed(saved: dict) -> None:
        usage.add(saved.get("usage") or {})
        ctx.started -= (saved.get("usage") or {}).get("wall_seconds", 0.0)
        _restore_intent(ctx, saved)

    if strategy == "greedy":
        graph = build_agent_graph(ctx)
    elif strategy == "recheck":
        from ponder.graphs.recheck import build_recheck_graph

        graph = build_recheck_graph(ctx)
    elif strategy == "best-first":
        from ponder.graphs.tree_search import build_tree_search

        graph = build_tree_search(ctx)
    else:
        from ponder.graphs.best_of_n import build_best_of_n

        graph = build_best_of_n(ctx)
    _wrap_start_for_intent(ctx)
    state = run_durable(graph, checkpoint=checkpoint, thread_id=thread_id or f"{task_id}:{strategy}:{config.seed}", on_resume=resumed)
    nodes = state.get("nodes", {})
    committed = [nodes[i] for i in state.get("committed", []) if i in nodes]
    final_path = committed[-1]["path"] if committed else []
    if nodes:
        runtime.goto(final_path)  # the environment ends in the committed state
    from ponder.graphs.trace import build_trace

    trace = build_trace(state, task_id=task_id, intent=ctx.intent, strategy=strategy, model=model.name, config=config, runtime=runtime,
                        judge_model=judge.model.name if isinstance(judge, ValueJudge) else None)
    return WebRunResult(state.get("answer"), list(final_path), state.get("stop_reason") or "", usage.to_dict(), state, trace, runtime)


def _restore_intent(ctx: RunContext, saved: dict) -> None:
    if not ctx.intent and saved.get("intent"):
        ctx.intent = saved["intent"]


def _wrap_start_for_intent(ctx: RunContext) -> None:
    """Environments whose intent comes with the first observation (MiniWoB) fill it on reset."""
    original = ctx.runtime._reset

    def reset() -> Any:
        obs = original()
        if not ctx.intent and getattr(obs, "intent", ""):
            ctx.intent = obs.intent
        return obs

    ctx.runtime._reset = reset
