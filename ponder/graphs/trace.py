"""Run traces: a JSON record of what a web strategy did, and a self-contained HTML viewer.

A trace holds the tree of visited states (each node: its action, value and value samples, the
candidates proposed there, URL, observation digest and excerpt, errors, destructive flag, time
since the run started), the order nodes were created in, the committed path, the answer, why the
run stopped, the usage and the environment's counts (steps, restores, replays). ``ponder trace
view TRACE`` turns one into an HTML page (no network, no external files) that draws the tree and
steps through its construction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ponder.errors import ConfigError
from ponder.files import write_atomic, write_json_atomic
from ponder.graphs.state_tree import TreeNode
from ponder.graphs.web_config import WebAgentConfig

if TYPE_CHECKING:
    from ponder.graphs.web_runtime import EnvRuntime

TRACE_VERSION = 1
VIEWER = Path(__file__).with_name("trace_viewer.html")


def build_trace(state: dict, *, task_id: str, intent: str, strategy: str, model: str, config: WebAgentConfig | dict | None = None,
                runtime: EnvRuntime | None = None, judge_model: str | None = None) -> dict:
    """The trace of a finished (or stopped) run from its final graph state (``judge_model``: the
    value judge's model, ``None`` for an oracle value). Nodes are :class:`TreeNode` records (or
    their dicts); the trace holds their dicts."""
    nodes = state.get("nodes", {})
    order = [i for i in state.get("order", list(nodes)) if i in nodes]
    return {
        "version": TRACE_VERSION,
        "task_id": task_id,
        "intent": intent or state.get("intent", ""),
        "strategy": strategy,
        "model": model,
        "judge_model": judge_model,
        "config": config.to_dict() if isinstance(config, WebAgentConfig) else (config or {}),
        "nodes": [nodes[i].to_dict() if isinstance(nodes[i], TreeNode) else nodes[i] for i in order],
        "committed": list(state.get("committed", [])),
        "answer": state.get("answer"),
        "stop_reason": state.get("stop_reason", ""),
        "usage": state.get("usage", {}),
        "env_counts": dict(runtime.counts) if runtime is not None else {},
        "stats": {k: state[k] for k in ("expansions", "total_value_calls", "rounds", "rechecks") if k in state},
        "score": None,
    }


def write_trace(trace: dict, path: str | Path) -> Path:
    """Write ``trace`` as JSON to ``path`` (atomically; parent folders are made)."""
    path = Path(path)
    write_json_atomic(path, trace, indent=1)
    return path


def load_trace(path: str | Path) -> dict:
    """Read a trace file, or raise a :class:`ConfigError` naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"trace file not found: {path}")
    try:
        trace = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not JSON (line {e.lineno}: {e.msg})") from e
    if not isinstance(trace, dict) or not isinstance(trace.get("nodes"), list):
        raise ConfigError(f"{path}: not a ponder trace (no 'nodes' list)", hint="traces come from `ponder eval web` runs")
    for i, node in enumerate(trace["nodes"]):
        if not isinstance(node, dict) or "id" not in node or "parent" not in node:
            raise ConfigError(f"{path}: nodes[{i}] needs 'id' and 'parent'")
    return trace


def trace_nodes(trace: dict, *, where: str = "trace") -> list[TreeNode]:
    """A trace's nodes as :class:`TreeNode` records (a :class:`ConfigError` names a bad one)."""
    return [TreeNode.from_dict(n, where=f"{where}: nodes[{i}]") for i, n in enumerate(trace.get("nodes", []))]


def render_html(trace: dict) -> str:
    """A self-contained HTML page (inline data, script and style) showing ``trace``."""
    data = json.dumps(trace, default=str).replace("</", "<\\/").replace("<!--", "<\\!--")
    title = f"ponder trace: {trace.get('task_id', '')} ({trace.get('strategy', '')})"
    html = VIEWER.read_text()
    return html.replace("__TITLE__", _escape(title)).replace("__TRACE_JSON__", data)


def write_html(trace_path: str | Path, out: str | Path | None = None) -> Path:
    """Render the trace at ``trace_path`` to ``out`` (default: next to it, ``.html``)."""
    trace = load_trace(trace_path)
    out = Path(out) if out else Path(trace_path).with_suffix(".html")
    write_atomic(out, render_html(trace))
    return out


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
