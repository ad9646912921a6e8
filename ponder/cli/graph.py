"""``ponder optimize`` and ``ponder graph ...``: search for a collaboration graph under a budget,
and run, validate, price or generate graph specs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ponder.errors import ConfigError
from ponder.graphs.optimizer.optimize import DEFAULT_POOL  # light: its heavy imports are inside the function

console = Console()
graph_app = typer.Typer(no_args_is_help=True, help="Multi-LLM collaboration graphs: run, validate, price, presets.")



def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
    app.add_typer(graph_app, name="graph")


def _query(text: str, kind: str, choices: list[str]):
    from ponder.agents.solver import KINDS, Query

    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if choices and kind != "choice":
        kind = "choice"
    return Query(text, kind=kind, choices=tuple(choices))


def _load_spec(path: str):
    from ponder.graphs.spec import GraphSpec

    spec = GraphSpec.load(path)
    spec.check_models(where=path)
    return spec


@graph_app.command("run")
def graph_run(
    spec_path: str = typer.Argument(..., metavar="SPEC", help="A graph spec (.json/.yaml) or an optimizer result file."),
    input_text: str = typer.Option(..., "--input", "-i", help="The question to answer."),
    kind: str = typer.Option("open", help="Answer format: math (a number), choice (a letter), open."),
    choice: list[str] = typer.Option([], "--choice", help="A multiple-choice option (repeatable; implies --kind choice)."),
    budget: str = typer.Option(None, help="A Budget on the whole run, e.g. calls=8,tokens=4000."),
    seed: int = typer.Option(0, help="Random seed."),
    corpus: str = typer.Option(None, help="For graphs with a retrieve node: a dataset name (hotpotqa) or path whose passages are searched (BM25)."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
) -> None:
    """Run a graph spec on one question; print the answer, each node's output and the usage."""
    from ponder.graphs.compile import compile_graph
    from ponder.usage import Budget

    spec = _load_spec(spec_path)
    retriever = None
    if any(n.role == "retrieve" for n in spec.nodes):
        if not corpus:
            raise ConfigError(f"{spec_path} has a retrieve node", hint="pass --corpus hotpotqa (or a dataset path)")
        from ponder.graphs.optimizer.tasks.hotpotqa import corpus_retriever
        from ponder.retrieval.datasets import load_dataset

        retriever = corpus_retriever(load_dataset(corpus).passages)
    graph = compile_graph(spec, retriever=retriever)
    result = graph.run(_query(input_text, kind, choice), budget=Budget.parse(budget), seed=seed)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    table = Table("node", "role", "model", "answer", "tokens (est / measured)", "seconds", title=f"graph {spec.name}")
    for nid in spec.topological_order():
        out = result.outputs[nid]
        est, meas = out["estimate"], out["measured"]
        table.add_row(nid, out["role"], out.get("model") or "-", str(out["answer"]),
                      f"{est['prompt_tokens'] + est['completion_tokens']} / {int(meas['prompt_tokens'] + meas['completion_tokens'])}",
                      f"{meas['seconds']:.2f}")
    console.print(table)
    console.print(f"[bold]answer:[/] {result.answer}")
    console.print(f"[dim]usage: {result.usage.to_dict()}  estimate: {graph.estimate.units:.2f} units[/]")


@graph_app.command("validate")
def graph_validate(spec_path: str = typer.Argument(..., metavar="SPEC")) -> None:
    """Check a spec (structure and model names) without running it."""
    spec = _load_spec(spec_path)
    console.print(f"[green]ok[/] {spec_path}: {len(spec.nodes)} nodes, {len(spec.edges)} edges, final {spec.final.id!r}")


@graph_app.command("cost")
def graph_cost(spec_path: str = typer.Argument(..., metavar="SPEC"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """The cost model's estimate per node (FLOPs, units of one smallest-model call, latency)."""
    from ponder.graphs.cost import CostModel

    est = CostModel().estimate(_load_spec(spec_path))
    if as_json:
        print(json.dumps(est.to_dict(), indent=2))
        return
    table = Table("node", "calls", "prompt tok", "decode tok", "units", "latency")
    for nid, c in est.nodes.items():
        table.add_row(nid, str(c.calls), str(c.prompt_tokens), str(c.completion_tokens), f"{c.units:.2f}", f"{c.latency:.2f}")
    console.print(table)
    console.print(f"total {est.units:.2f} units, critical-path latency {est.latency:.2f}")


@graph_app.command("preset")
def graph_preset(
    name: str = typer.Argument(..., help="single, sample-verify (formerly best-of-n), self-consistency, refinement, hybrid, first-finish"),
    model: str = typer.Option("smollm2-135m", "--model", "-m"),
    option: list[str] = typer.Option([], "--set", help="Strategy option KEY=VALUE (n=5, vote=weighted, width=3, steps=2...)."),
    out: str = typer.Option(None, help="Write the spec here (default: print it)."),
) -> None:
    """Write a test-time strategy as a graph spec."""
    from ponder.graphs.strategies import preset

    opts: dict = {}
    for item in option:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r} is not KEY=VALUE")
        try:
            opts[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            opts[key.replace("-", "_")] = value
    spec = preset(name, model, **opts)
    if out:
        Path(out).write_text(spec.to_json() + "\n")
        console.print(f"wrote {out}")
    else:
        print(spec.to_json())


def optimize(
    tasks: str = typer.Option("synthetic", "--tasks", help="synthetic[:N items] or hotpotqa[:N] (two-stage retrieve-then-answer)."),
    budget: float = typer.Option(..., "--budget", help="Compute per question in units (1 = one call of the smallest pool model)."),
    objective: str = typer.Option("acc", help="acc, acc-latency or acc-flops."),
    method: str = typer.Option("agent-reinforce", help="agent-reinforce, reinforce, random or tpe."),
    out: str = typer.Option("best.json", "--out", help="Result file; the resumable state sits beside it."),
    pool: str = typer.Option(",".join(DEFAULT_POOL), help="Comma-separated registry names the graphs may use."),
    evals: float = typer.Option(20, help="Evaluation budget: full-minibatch evaluations (cached items are free)."),
    minibatch: int = typer.Option(6, help="Questions per evaluation."),
    test: int = typer.Option(0, help="Held-out questions to compare the best graph with each single model at the same budget."),
    max_width: int = typer.Option(3, help="Widest layer considered."),
    max_depth: int = typer.Option(2, help="Deepest graph considered."),
    max_tokens: int = typer.Option(12, help="New tokens per node call."),
    granularity: str = typer.Option("node", help="node: a model per node; layer: a model per layer."),
    optimizer_model: str = typer.Option("rule", help="The optimizer agent: 'rule' (the documented feedback rule), 'none' (numeric REINFORCE only) or a registry name."),
    halving: bool = typer.Option(True, help="Successive halving when a step evaluates several graphs."),
    concurrency: int = typer.Option(4, help="Questions run at once (same-model calls batch together)."),
    weight: float = typer.Option(0.1, help="Penalty weight for acc-latency / acc-flops."),
    seed: int = typer.Option(0, help="Random seed."),
    compare_singles: bool = typer.Option(True, help="With --test: also score each model's single call."),
    ray: str = typer.Option(None, "--ray", metavar="[ADDRESS]", help="Run the graph evaluations on Ray: local, auto or HOST:PORT; alone, $RAY_ADDRESS or local (docs/scale-out.md)."),
    workers: int = typer.Option(2, help="With --ray: worker actors, each keeping its models loaded."),
    unit_timeout: float = typer.Option(None, "--unit-timeout", metavar="SECONDS", help="With --ray: a graph run longer than this is cancelled and retried."),
    worker_gpus: float = typer.Option(None, "--worker-gpus", help="With --ray: GPUs each worker asks for."),
) -> None:
    """Search for the best collaboration graph for a task under a compute budget (resumable)."""
    from ponder.evals.backends import make_runner
    from ponder.graphs.optimizer.optimize import optimize_graph

    names = [p.strip() for p in pool.split(",") if p.strip()]
    if not names:
        raise ConfigError("--pool is empty")
    runner = make_runner(ray, workers=workers, unit_timeout=unit_timeout, num_gpus=worker_gpus)
    if ray:
        runner.keep_workers = True  # one set of workers (models loaded once) for every evaluation
    try:
        payload = optimize_graph(
            tasks=tasks, budget=budget, objective=objective, method=method, out=out, pool=names, evals=evals,  # type: ignore[arg-type]
            minibatch=minibatch, test=test, max_width=max_width, max_depth=max_depth, max_tokens=max_tokens,
            granularity=granularity, optimizer_model=optimizer_model, halving=halving,  # type: ignore[arg-type]
            concurrency=concurrency, weight=weight, seed=seed, compare_singles=compare_singles,
            runner=runner if ray else None,
        )
    finally:
        runner.close()
    _print_summary(payload)


def _print_summary(payload: dict) -> None:
    best = payload["best"]
    if not best:
        console.print("[yellow]no graph was evaluated[/]")
        return
    console.print(f"[bold]best graph:[/] {best['describe']}  score {best['score']:.3f}  accuracy {best['accuracy']:.3f}  "
                  f"cost {best['cost']:.2f} units")
    console.print(f"evaluations used {payload['evaluations_used']:g} ({payload['graph_evaluations']} graph evaluations), "
                  f"evaluation spend {payload['evaluation_spend'].get('tokens', 0)} tokens, "
                  f"optimizer spend {payload['optimizer_spend'] or 'none'}")
    if "comparison" in payload:
        table = Table("graph", "held-out accuracy", "cost units", title=f"held-out comparison ({payload['comparison']['_items']} items)")
        for label, row in payload["comparison"].items():
            if not label.startswith("_"):
                table.add_row(label, f"{row['accuracy']:.3f}", f"{row['cost_units']:.2f}")
        console.print(table)
