"""The collaboration part of ``ponder demo``: a hybrid graph (three parallel answers, each seeded
sample its own backend call, then a refine step that reads them) and self-consistency on one synthetic item, with
the graph's per-node outputs, the cost model's estimate beside the measured tokens, and usage."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table


def collab_demo(console: Console, model_name: str | None = None) -> None:
    """Run self-consistency and a hybrid (parallel then refine) graph on one arithmetic item."""
    from ponder.graphs import strategies
    from ponder.graphs.compile import compile_graph
    from ponder.graphs.optimizer.tasks.synthetic import SyntheticTask
    from ponder.models.registry import DEFAULT_MODEL, load_model

    name = model_name or DEFAULT_MODEL
    model = load_model(name)
    item = SyntheticTask(2, seed=3).items[0]
    console.print(f"[bold]question:[/] {item.query.text}  [dim](expected {item.answer})[/]")
    for spec in (strategies.self_consistency(name, 4, max_tokens=8), strategies.hybrid(name, width=3, steps=1, max_tokens=8)):
        graph = compile_graph(spec, models={name: model})
        start = time.perf_counter()
        result = graph.run(item.query, seed=0)
        table = Table("node", "role", "answer", "tokens est / measured", title=f"{spec.name}: {len(spec.nodes)} nodes, "
                      f"{graph.estimate.units:.1f} units estimated")
        for nid in spec.topological_order():
            out = result.outputs[nid]
            est, meas = out["estimate"], out["measured"]
            table.add_row(nid, out["role"], str(out["answer"]) or "-",
                          f"{est['prompt_tokens'] + est['completion_tokens']} / {int(meas['prompt_tokens'] + meas['completion_tokens'])}")
        console.print(table)
        mark = "[green]right[/]" if result.answer == item.answer else "[red]wrong[/]"
        console.print(f"answer [bold]{result.answer or '-'}[/] ({mark}) in {time.perf_counter() - start:.1f} s; "
                      f"backend calls {graph.batcher(name).batches}; usage {result.usage.to_dict()['tokens']} tokens")
