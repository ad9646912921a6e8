"""The web-agent graph modules import one way: configuration <- tree records <- runtime <- the
strategies <- the strategy table. A strategy never imports the table (no import circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import ponder

ROOT = Path(ponder.__file__).parent

#: module -> its layer; a module may import only modules of lower layers
LAYERS = {
    "ponder.graphs.web_config": 0,
    "ponder.graphs.state_tree": 0,
    "ponder.graphs.durable": 0,
    "ponder.graphs.trace": 2,
    "ponder.graphs.web_runtime": 1,
    "ponder.graphs.greedy": 2,
    "ponder.graphs.tree_search": 2,
    "ponder.graphs.best_of_n": 2,
    "ponder.graphs.recheck": 3,
    "ponder.graphs.web_agent": 4,
}


def imports_of(module: str) -> set[str]:
    """Every ``ponder`` module ``module`` imports, at the top or inside a function."""
    path = ROOT.joinpath(*module.split(".")[1:]).with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ponder"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ponder")}
    return found


def test_web_graph_modules_import_only_lower_layers():
    for module, layer in LAYERS.items():
        for dep in imports_of(module) & set(LAYERS):
            assert LAYERS[dep] < layer, f"{module} imports {dep}"


def test_the_interfaces_sit_low():
    # the protocols import no higher layer: agents and environments never import the graphs
    assert not {m for m in imports_of("ponder.environments.protocol") if m.startswith("ponder.")}
    for module in ("ponder.agents.value", "ponder.agents.value_judge", "ponder.agents.web_actor"):
        assert not {m for m in imports_of(module) if m.startswith(("ponder.graphs", "ponder.evals", "ponder.cli"))}, module
