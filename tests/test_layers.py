"""The import structure: no cycle between ponder's modules (the layer rules themselves are
import-linter contracts in pyproject.toml, run by ``make test`` as ``lint-imports``)."""

from __future__ import annotations

import grimp


def import_cycles(package: str = "ponder") -> list[list[str]]:
    """Groups of modules that import each other, directly or through a chain (strongly connected
    components of the import graph; imports under ``if TYPE_CHECKING:`` never run, so they are
    left out; importing a submodule does not count as importing its package)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in edges:  # Tarjan's algorithm, iteratively (no recursion limit on deep chains)
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return sorted(cycles)


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    pkg = tmp_path / "cyclic"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclic import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyclic import c\n")
    (pkg / "c.py").write_text("import cyclic.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cyclic.e\n")
    (pkg / "e.py").write_text("import cyclic.d\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("cyclic") == [["cyclic.a", "cyclic.b", "cyclic.c"]]


def test_no_import_cycle_between_ponder_modules():
    cycles = import_cycles("ponder")
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
