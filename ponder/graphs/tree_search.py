"""Best-first tree search over environment states (Koh et al. 2024, "Tree Search for Language
Model Agents"), as a LangGraph StateGraph.

One search round starts at the committed state. It repeatedly pops the frontier state with the
highest value, samples candidate actions there (one batched actor call), takes the ``branching``
most frequent ones as children (each from a restored copy of the parent state), and values the
children with the value function (one batched call; each child counts as one value call). The
round ends when a child reaches ``threshold``, ``value_budget`` value calls are spent, or the
frontier is empty; then the best-valued state found is committed and, unless it answered or reached the
horizon, the next round searches from it. With ``search_rounds`` set, the agent acts greedily
(no value calls) after the last round, so ``value_budget x search_rounds`` bounds the value calls
of a whole episode.

Backtracking uses ``restore``; an environment that cannot snapshot (``can_snapshot`` False) is
reset and replayed. There, unless the environment says a reset restores all state (``reset_restores_state``), actions
that look destructive (place an order, delete, post) are not taken inside search branches: such a
child is valued from its parent's page and only executed if it is committed.
"""

from __future__ import annotations

import re
from dataclasses import replace

from langgraph.graph import END, START, StateGraph

from ponder.environments.protocol import EnvObservation
from ponder.errors import BudgetExceeded
from ponder.graphs.state_tree import TreeNode, lineage, subtree
from ponder.graphs.web_runtime import RunContext, RunState

_DESTRUCTIVE = re.compile(
    r"place order|buy|purchase|checkout|pay\b|delete|remove|post\b|submit|reply|publish|save|confirm|send|upvote|downvote|vote",
    re.I,
)
_ELEMENT_LINE = re.compile(r"\[(\d+)\][^\n]*")


def looks_destructive(action: str, page: str) -> bool:
    """A guess, before acting, that ``action`` commits irreversible state: a click on (or
    Enter in) an element whose line on the page names such a verb."""
    m = re.match(r"(click|type)\s*\[(\d+)\]", action)
    if not m or (m.group(1) == "type" and not action.rstrip().endswith("[1]")):
        return False
    for line in _ELEMENT_LINE.finditer(page):
        if line.group(1) == m.group(2):
            return bool(_DESTRUCTIVE.search(line.group(0)))
    return False


class SearchState(RunState, total=False):
    frontier: list[str]
    root: str  # the committed state this round searches from
    value_calls: int  # this round
    total_value_calls: int
    expansions: int
    rounds: int
    found: bool
    tail: bool  # the search rounds are spent: the agent acts greedily to the horizon


def _value_key(nodes: dict[str, TreeNode], order: list[str], nid: str) -> tuple:
    v = nodes[nid].value
    return (v if v is not None else -1.0, -order.index(nid))


def build_tree_search(ctx: RunContext) -> StateGraph:
    """The best-first search graph for one task (see the module docstring)."""
    cfg = ctx.config
    rt = ctx.runtime
    # Without snapshots a branch's destructive action would persist, unless a reset restores
    # everything (MiniWoB pages; the toy shop by default).
    defer = not rt.env.can_snapshot and not rt.env.reset_restores_state

    def start(state: SearchState) -> dict:
        obs = rt.reset()
        root = ctx.record("n0", None, None, obs)
        return {"intent": ctx.intent, "nodes": {"n0": root}, "order": ["n0"], "frontier": ["n0"], "root": "n0",
                "value_calls": 0, "total_value_calls": 0, "expansions": 0, "rounds": 1, "found": False,
                "committed": ["n0"], "steps": 0, "halt": False, "done": False, "answer": None, "stop_reason": "", "note": ""}

    def expand(state: SearchState) -> dict:
        nodes = dict(state["nodes"])
        order = list(state["order"])
        frontier = list(state["frontier"])
        root_depth = nodes[state["root"]].depth
        while True:  # pop the best state that may still be expanded (one graph step per expansion)
            if not frontier:
                return {"frontier": frontier}
            pick = max(frontier, key=lambda i: _value_key(nodes, order, i))
            frontier.remove(pick)
            node = nodes[pick]
            if not (node.done or node.expanded or node.depth - root_depth >= cfg.depth or node.depth >= cfg.horizon):
                break
        obs = rt.goto(node.path)
        cands = ctx.propose(node, obs, n=max(ctx.actor.config.n, cfg.branching))
        left = cfg.value_budget - state["value_calls"]
        chosen = cands[: max(0, min(cfg.branching, left))]
        nodes[pick] = replace(node, expanded=True, candidates=[c.to_dict() for c in cands])
        node = nodes[pick]
        pending: list[tuple[TreeNode, EnvObservation | None]] = []
        new_ids = []
        for cand in chosen:
            nid = f"n{len(nodes)}"
            if defer and looks_destructive(cand.action, obs.text):
                child = ctx.record(nid, node, cand.action, obs, None, deferred=True, frequency=cand.count)
                child = replace(child, excerpt=f"(not taken while searching: {cand.action})\n" + child.excerpt)
                nodes[nid] = child
                if ctx.value_fn.needs_env:
                    nodes[nid] = replace(child, value=node.value if node.value is not None else 0.0)
                else:
                    pending.append((child, None))
            else:
                rt.goto(node.path)
                result = rt.step(cand.action)
                child = ctx.record(nid, node, cand.action, result.observation, result, frequency=cand.count)
                nodes[nid] = child
                if ctx.value_fn.needs_env:
                    nodes[nid] = ctx.value(nodes, [(child, result.observation)])[0]
                else:
                    pending.append((child, result.observation))
            new_ids.append(nid)
            order.append(nid)
        halt: dict = {}
        try:
            for rec in ctx.value(nodes, pending):
                nodes[rec.id] = rec
        except BudgetExceeded as e:  # keep the children seen (unvalued) and stop
            halt = {"halt": True, "stop_reason": "budget", "note": f"budget: {e.field}"}
        frontier += [nid for nid in new_ids if nodes[nid].open]
        found = any((nodes[i].value or 0.0) >= cfg.threshold for i in new_ids)
        return {"nodes": nodes, "order": order, "frontier": frontier, "found": found,
                "value_calls": state["value_calls"] + len(chosen),
                "total_value_calls": state["total_value_calls"] + len(chosen),
                "expansions": state["expansions"] + 1, **halt}

    def commit(state: SearchState) -> dict:
        nodes = dict(state["nodes"])
        order = state["order"]
        round_ids = [i for i in subtree(nodes, state["root"]) if i != state["root"] and nodes[i].value is not None]
        halted = state.get("halt", False)
        if not round_ids:
            reason = state.get("stop_reason") or ("budget" if halted else "exhausted")
            return {"halt": True, "stop_reason": reason}
        # equal values: the deeper state (more progress for the same estimate), then the earlier
        best_id = max(round_ids, key=lambda i: (nodes[i].value, nodes[i].depth, -order.index(i)))
        best = nodes[best_id]
        if best.deferred:  # a destructive action runs only now that it is committed
            assert best.parent is not None and best.action is not None
            parent = nodes[best.parent]
            rt.goto(parent.path)
            result = rt.step(best.action)
            best = replace(ctx.record(best_id, parent, best.action, result.observation, result), value=best.value,
                           values=best.values, deferred_until_commit=True)
            nodes[best_id] = best
        rt.goto(best.path)
        committed = [n.id for n in lineage(nodes, best)]
        update: dict = {"nodes": nodes, "committed": committed, "steps": best.depth, "root": best_id,
                        "value_calls": 0, "found": False}
        if best.env_error:
            update.update(halt=True, stop_reason="env_error")
        elif best.done:
            update.update(done=True, answer=best.answer, stop_reason="answered")
        elif halted:
            update.update(stop_reason=state.get("stop_reason") or "budget")
        elif best.depth >= cfg.horizon:
            update.update(halt=True, stop_reason="horizon")
        elif cfg.search_rounds and state["rounds"] >= cfg.search_rounds:
            update.update(tail=True)  # the search budget is spent: act greedily from here
        else:
            frontier = [i for i in subtree(nodes, best_id) if not nodes[i].expanded and nodes[i].open]
            if not frontier:
                update.update(halt=True, stop_reason="exhausted")
            else:
                update.update(frontier=frontier, rounds=state["rounds"] + 1)
        return update

    def tail(state: SearchState) -> dict:
        nodes = dict(state["nodes"])
        node = nodes[state["committed"][-1]]
        obs = rt.goto(node.path)
        cands = ctx.propose(node, obs, salt="tail")
        nodes[node.id] = replace(node, expanded=True, candidates=[c.to_dict() for c in cands])
        result = rt.step(cands[0].action)
        nid = f"n{len(nodes)}"
        child = ctx.record(nid, nodes[node.id], cands[0].action, result.observation, result, tail=True)
        nodes[nid] = child
        update: dict = {"nodes": nodes, "order": [*state["order"], nid], "committed": [*state["committed"], nid],
                        "steps": child.depth}
        if child.env_error:
            update.update(halt=True, stop_reason="env_error")
        elif result.done:
            update.update(done=True, answer=result.answer, stop_reason="answered")
        elif child.depth >= cfg.horizon:
            update.update(halt=True, stop_reason="horizon")
        return update

    def after_expand(state: SearchState) -> str:
        if state.get("halt") or state.get("found") or state["value_calls"] >= cfg.value_budget or not state["frontier"]:
            return "commit"
        return "expand"

    def after_commit(state: SearchState) -> str:
        if state.get("halt") or state.get("done"):
            return END
        return "tail" if state.get("tail") else "expand"

    graph = StateGraph(SearchState)
    graph.add_node("start", ctx.node(start))
    graph.add_node("expand", ctx.node(expand))
    graph.add_node("commit", ctx.node(commit))
    graph.add_node("tail", ctx.node(tail))
    graph.add_edge(START, "start")
    graph.add_conditional_edges("start", lambda s: END if s.get("halt") else "expand", ["expand", END])
    graph.add_conditional_edges("expand", after_expand, ["expand", "commit"])
    graph.add_conditional_edges("commit", after_commit, ["expand", "tail", END])
    graph.add_conditional_edges("tail", lambda s: END if s.get("halt") or s.get("done") else "tail", ["tail", END])
    return graph
