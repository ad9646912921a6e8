"""Best-of-N trajectories reranked by the value function, as a LangGraph StateGraph (the web
strategy ``best-of-n``; the graph preset that samples answers and verifies them is
``sample-verify`` in :mod:`ponder.graphs.strategies`).

N episodes run from the same start state (restored from a snapshot, or reset). The first
follows the actor's most frequent candidate at every step; the others draw a candidate in
proportion to how often it was sampled (seeded per trajectory and step). Each finished
trajectory's final state is valued once; the best one is committed and the environment is put
back in its final state for evaluation.
"""

from __future__ import annotations

import random
from dataclasses import replace

from langgraph.graph import END, START, StateGraph

from ponder.agents.web_actor import seed_for
from ponder.graphs.state_tree import lineage
from ponder.graphs.web_runtime import RunContext, RunState


class BestOfNState(RunState, total=False):
    traj: int
    current: str
    finals: list[str]


def build_best_of_n(ctx: RunContext) -> StateGraph:
    """The best-of-N graph for one task (see the module docstring)."""
    cfg = ctx.config
    rt = ctx.runtime

    def start(state: BestOfNState) -> dict:
        obs = rt.reset()
        root = ctx.record("n0", None, None, obs)
        return {"intent": ctx.intent, "nodes": {"n0": root}, "order": ["n0"], "traj": 0, "current": "n0", "steps": 0,
                "finals": [], "committed": ["n0"], "halt": False, "done": False, "answer": None, "stop_reason": "", "note": ""}

    def act(state: BestOfNState) -> dict:
        nodes = dict(state["nodes"])
        node = nodes[state["current"]]
        obs = rt.goto(node.path)
        traj = state["traj"]
        cands = ctx.propose(node, obs, salt=f"traj{traj}")
        if traj == 0 or len(cands) == 1:
            cand = cands[0]
        else:
            rng = random.Random(seed_for(cfg.seed, ctx.task_id, traj, node.id))
            cand = rng.choices(cands, weights=[c.count for c in cands])[0]
        nodes[node.id] = replace(node, candidates=[*node.candidates, *[{**c.to_dict(), "traj": traj} for c in cands]])
        result = rt.step(cand.action)
        nid = f"n{len(nodes)}"
        child = ctx.record(nid, nodes[node.id], cand.action, result.observation, result, traj=traj)
        nodes[nid] = child
        update: dict = {"nodes": nodes, "order": [*state["order"], nid], "current": nid, "steps": state["steps"] + 1}
        if result.done or child.env_error or state["steps"] + 1 >= cfg.horizon:
            nodes[nid] = ctx.value(nodes, [(child, result.observation)], salt=f"final{traj}")[0]
            update.update(finals=[*state["finals"], nid], traj=traj + 1, current="n0", steps=0)
        return update

    def select(state: BestOfNState) -> dict:
        nodes = state["nodes"]
        finals = list(state["finals"])
        if not finals and state["current"] != "n0":
            finals = [state["current"]]  # stopped by the budget mid-trajectory
        if not finals:
            return {"stop_reason": state.get("stop_reason") or "budget"}
        best = max(finals, key=lambda i: ((nodes[i].value if nodes[i].value is not None else -1.0), -finals.index(i)))
        rec = nodes[best]
        rt.goto(rec.path)
        reason = state.get("stop_reason") or ("answered" if rec.done else ("env_error" if rec.env_error else "horizon"))
        return {"committed": [n.id for n in lineage(nodes, rec)], "answer": rec.answer, "done": rec.done,
                "steps": rec.depth, "stop_reason": reason}

    def after_act(state: BestOfNState) -> str:
        if state.get("halt") or state["traj"] >= cfg.trajectories:
            return "select"
        return "act"

    graph = StateGraph(BestOfNState)
    graph.add_node("start", ctx.node(start))
    graph.add_node("act", ctx.node(act))
    graph.add_node("select", ctx.node(select))
    graph.add_edge(START, "start")
    graph.add_conditional_edges("start", lambda s: "select" if s.get("halt") else "act", ["act", "select"])
    graph.add_conditional_edges("act", after_act, ["act", "select"])
    graph.add_edge("select", END)
    return graph
