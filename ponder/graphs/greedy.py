"""The single-trajectory web agent (observe, act, step) as a LangGraph StateGraph: the
``greedy`` strategy, and with re-checks the ``recheck`` strategy (:mod:`ponder.graphs.recheck`).
"""

from __future__ import annotations

from dataclasses import replace

from langgraph.graph import END, START, StateGraph

from ponder.graphs.web_runtime import RunContext, RunState

__all__ = ["RECHECK_NOTE", "AgentState", "build_agent_graph"]


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
        obs = ctx.runtime.goto(node.path)
        cands = ctx.propose(node, obs, note=state.get("note", ""), salt=f"act{state.get('rechecks', 0)}")
        action = cands[0].action
        seen = [*node.candidates, *[{**c.to_dict(), "recheck": state.get("rechecks", 0)} for c in cands]]
        nodes[node.id] = replace(node, candidates=seen)
        if action.startswith("stop") and state.get("rechecks", 0) < rechecks:
            return {"nodes": nodes, "rechecks": state.get("rechecks", 0) + 1, "note": RECHECK_NOTE.format(action=action)}
        result = ctx.runtime.step(action)
        nid = f"n{len(nodes)}"
        child = ctx.record(nid, node, action, result.observation, result)
        nodes[nid] = child
        update = {"nodes": nodes, "order": [*state["order"], nid], "current": nid, "committed": [*state["committed"], nid],
                  "steps": state["steps"] + 1, "note": ""}
        if child.env_error:
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
