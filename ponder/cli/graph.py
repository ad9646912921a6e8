"""``ponder optimize`` and ``ponder graph ...``: search for a collaboration graph under a budget,
and run, validate, price or generate graph specs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ponder.errors import ConfigError

console = Console()
graph_app = typer.Typer(no_args_is_help=True, help="Multi-LLM collaboration graphs: run, validate, price, presets.")

DEFAULT_POOL = "smollm2-135m,llamacpp:gemma3-270m"


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


def _parameters(pool: list[str]) -> dict[str, int]:
    from ponder.graphs.cost import registry_parameters
    from ponder.models.registry import load_model, resolve

    params = {}
    for name in pool:
        resolve(name)  # ModelNotFound names the model
        params[name] = registry_parameters(name) or load_model(name).info.parameters
    return params


def optimize(
    tasks: str = typer.Option("synthetic", "--tasks", help="synthetic[:N items] or hotpotqa[:N] (two-stage retrieve-then-answer)."),
    budget: float = typer.Option(..., "--budget", help="Compute per question in units (1 = one call of the smallest pool model)."),
    objective: str = typer.Option("acc", help="acc, acc-latency or acc-flops."),
    method: str = typer.Option("agent-reinforce", help="agent-reinforce, reinforce, random or tpe."),
    out: str = typer.Option("best.json", "--out", help="Result file; the resumable state sits beside it."),
    pool: str = typer.Option(DEFAULT_POOL, help="Comma-separated registry names the graphs may use."),
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
    from ponder.evals.runner import make_runner

    runner = make_runner(ray, workers=workers, unit_timeout=unit_timeout, num_gpus=worker_gpus)
    if ray:
        runner.keep_workers = True  # one set of workers (models loaded once) for every evaluation
    try:
        _optimize(tasks, budget, objective, method, out, pool, evals, minibatch, test, max_width, max_depth, max_tokens,
                  granularity, optimizer_model, halving, concurrency, weight, seed, compare_singles,
                  runner if ray else None)
    finally:
        runner.close()


def _optimize(tasks, budget, objective, method, out, pool, evals, minibatch, test, max_width, max_depth, max_tokens,
              granularity, optimizer_model, halving, concurrency, weight, seed, compare_singles, runner) -> None:
    from ponder.graphs.cost import CostModel
    from ponder.graphs.optimizer.cache import EvalCache
    from ponder.graphs.optimizer.evaluate import TaskEvaluator
    from ponder.graphs.optimizer.objectives import Objective
    from ponder.graphs.optimizer.run import Driver, make_method
    from ponder.graphs.optimizer.space import LayeredGraphSpace
    from ponder.graphs.optimizer.tasks import load_task

    names = [p.strip() for p in pool.split(",") if p.strip()]
    if not names:
        raise ConfigError("--pool is empty")
    if budget <= 0:
        raise ConfigError(f"--budget must be positive, got {budget:g}")
    obj = Objective(objective, weight)
    params = _parameters(names)
    task, dev, held = load_task(tasks, minibatch=minibatch, test=test, seed=seed)
    cm = CostModel(parameters=params, base_prompt_tokens=task.prompt_tokens, unit_max_tokens=max_tokens, pool=tuple(names))
    if hasattr(task, "make_space"):
        space = task.make_space(names, budget, cost_model=cm, max_tokens=max_tokens)
    else:
        space = LayeredGraphSpace(names, budget, max_width=max_width, max_depth=max_depth, cost_model=cm,
                                  max_tokens=max_tokens, granularity=granularity)
    space.check_budget()
    out_path = Path(out)
    evaluator = TaskEvaluator(space, task, minibatch=minibatch, objective=obj, items=dev, concurrency=concurrency,
                              cache=EvalCache(out_path.with_name(out_path.name + ".cache.jsonl")), runner=runner)
    agent = None
    if method == "agent-reinforce" and optimizer_model not in ("rule", "none"):
        from ponder.agents.optimizer_agent import LLMOptimizerAgent
        from ponder.models.registry import load_model

        agent = LLMOptimizerAgent(load_model(optimizer_model))
    m = make_method(method, space, seed=seed, agent=agent)
    if method == "agent-reinforce" and optimizer_model == "none":
        m.agent = None  # type: ignore[attr-defined]
    settings = {"tasks": tasks, "budget": budget, "objective": objective, "weight": weight, "method": method, "pool": names,
                "minibatch": minibatch, "max_width": max_width, "max_depth": max_depth, "max_tokens": max_tokens,
                "granularity": granularity, "optimizer_model": optimizer_model, "halving": halving, "seed": seed}
    driver = Driver(m, evaluator, max_evals=evals, state_path=out_path.with_name(out_path.name + ".state.json"),
                    settings=settings, halving=halving)
    result = driver.run()
    report = result.report
    payload = {
        "graph": result.best["graph"] if result.best else None,
        "best": result.best,
        "settings": settings,
        "evaluations_used": result.evaluations_used,
        "graph_evaluations": result.evaluations,
        "resumed_batches": result.resumed_batches,
        "evaluation_spend": _sum_usage(r.get("usage") or {} for r in result.history),
        "optimizer_spend": report.get("optimizer_usage", {}),
        "cache": {"entries": len(evaluator.cache), "hits": evaluator.cache.hits},
        "method_report": report,
        "history": result.history,
    }
    if test and held and result.best:
        payload["comparison"] = compare(space, task, held, result.best["config"], concurrency=concurrency, obj=obj,
                                        singles=compare_singles,
                                        partial_path=out_path.with_name(out_path.name + ".compare.json"), runner=runner)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    _print_summary(payload, space)


def compare(space, task, items, best_config, *, concurrency: int = 4, obj=None, singles: bool = True,
            partial_path: Path | None = None, runner=None) -> dict:
    """Accuracy on held-out items of the best graph and of each model alone at the same budget
    (self-consistency as wide as fits), plus each model's single call when ``singles``. Rows are
    written to ``partial_path`` as they finish, and read back from it on a rerun."""
    from ponder.graphs.optimizer.evaluate import TaskEvaluator

    ev = TaskEvaluator(space, task, minibatch=len(items), items=items, concurrency=concurrency, objective=obj, runner=runner)
    rows = {"best graph": best_config}
    for cfg in space.pilot_configs():
        rows[f"{space.describe(cfg)}"] = cfg
    if singles:
        cheapest = space.cheapest()
        for model in getattr(space, "pool", ()):
            rows.setdefault(f"{model} single call", {**cheapest, **{k: model for k in cheapest if "model" in k}})
    out: dict = {}
    if partial_path is not None and partial_path.exists():
        out = json.loads(partial_path.read_text())
    for label, cfg in rows.items():
        if label in out and out[label].get("describe") == space.describe(cfg) and out[label].get("items") == len(items):
            continue
        e = ev.evaluate(cfg)
        out[label] = {"accuracy": round(e.accuracy, 4), "cost_units": round(e.cost, 3), "describe": space.describe(cfg),
                      "items": len(items), "usage": e.usage}
        if partial_path is not None:
            partial_path.write_text(json.dumps(out, indent=1))
    out["_items"] = len(items)
    out["_spend"] = ev.usage.to_dict()
    return out


def _sum_usage(rows) -> dict:
    """Total of usage dicts (every evaluation's new runs, across resumed processes)."""
    total: dict[str, float] = {}
    for row in rows:
        for k, v in row.items():
            total[k] = round(total.get(k, 0) + v, 4)
    return total


def _print_summary(payload: dict, space) -> None:
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
