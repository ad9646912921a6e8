"""``ponder eval web|miniwob|qa``, ``ponder report`` and ``ponder trace view``."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape

console = Console()

eval_app = typer.Typer(no_args_is_help=True, help="Run a strategy over many tasks (resumable results file).")
trace_app = typer.Typer(no_args_is_help=True, help="Look at run traces.")

STRATEGY_HELP = "greedy | recheck | best-first | best-of-n"


# `eval web` and `eval miniwob` share the run options and the agent options; each is declared once
# here and added to both commands' signatures by `_with_agent_options`.
_O = typer.Option
RUN_OPTIONS = {
    "strategy": (str, _O("greedy", help=STRATEGY_HELP)),
    "budget": (str, _O(None, help="Per-task limits, e.g. calls=40,tokens=30000,env_steps=30.")),
    "model": (str, _O(None, "--model", "-m", help="Registry name (default smollm2-135m).")),
    "judge_model": (str, _O(None, "--judge-model", help="The value judge's own model (default: --model).")),
    "workers": (int, _O(1, help="Parallel workers, each with its own browser (and sites).")),
    "seed": (int, _O(0, help="Random seed.")),
    "limit": (int, _O(None, help="Run at most this many tasks.")),
    "label": (str, _O(None, help="Row label (default: the strategy with its budget).")),
    "trace_dir": (str, _O(None, "--trace-dir", help="Where traces go (default: next to --out, <name>-traces/).")),
}

# `--ray ADDRESS` / `--unit-timeout` / `--worker-gpus`: every job command takes them (eval web,
# miniwob and qa here, `ponder optimize` in cli/graph.py); see docs/scale-out.md.
RAY_OPTIONS = {
    "ray": (str, _O(None, "--ray", metavar="[ADDRESS]", help="Run on Ray: local (start a Ray instance here), auto (the cluster "
                                                             "this machine joined) or HOST:PORT of a head node; alone, $RAY_ADDRESS "
                                                             "or local. --workers actors.")),
    "unit_timeout": (float, _O(None, "--unit-timeout", metavar="SECONDS", help="With --ray: a unit running longer is cancelled, "
                                                                                "its worker killed and replaced, and it is retried.")),
    "worker_gpus": (float, _O(None, "--worker-gpus", help="With --ray: GPUs each worker asks for (workers that load the model).")),
}
RUN_OPTIONS.update(RAY_OPTIONS)


def expand_bare_ray(argv: list[str]) -> list[str]:
    """``--ray`` given without an address (last, or followed by another option) means
    ``--ray default``: the cluster in ``$RAY_ADDRESS`` when set, else a local Ray instance."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--ray" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "default")
    return out


def runner_from(options: dict, workers: int):
    """The backend for the RAY_OPTIONS popped from ``options`` (local threads without --ray)."""
    from ponder.evals.backends import make_runner

    return make_runner(options.pop("ray"), workers=workers, unit_timeout=options.pop("unit_timeout"),
                       num_gpus=options.pop("worker_gpus"))
AGENT_OPTIONS = {
    "horizon": (int, _O(6, help="Most environment steps on the committed trajectory.")),
    "candidates": (int, _O(5, help="Actions sampled per actor call (one batched call).")),
    "temperature": (float, _O(0.8, help="Actor sampling temperature.")),
    "max_tokens": (int, _O(24, help="New tokens per sampled action.")),
    "max_obs_chars": (int, _O(2000, help="Observation characters shown to the model.")),
    "judge_samples": (int, _O(3, help="Value-judge samples per state (k).")),
    "graded_judge": (bool, _O(False, "--graded-judge", help="Value states by the judge's token probabilities (one greedy call) instead of k samples.")),
    "rechecks": (int, _O(1, help="recheck: re-check prompts after an answer.")),
    "branching": (int, _O(3, help="best-first: children per expansion (b).")),
    "depth": (int, _O(3, help="best-first: depth of one search round (d).")),
    "value_budget": (int, _O(10, "--value-budget", "-c", help="best-first: value calls per search round (c).")),
    "threshold": (float, _O(1.0, help="best-first: a value this high ends a search round.")),
    "trajectories": (int, _O(4, help="best-of-n: trajectories (N).")),
    "search_rounds": (int, _O(0, help="best-first: search rounds (0: until answer or horizon).")),
    "value": (str, _O("judge", help="judge (the model) | oracle (the environment's evaluator or reward: an upper bound) | learned:DIR (a trained verifier) | a [values.NAME] of ponder.toml.")),
}


def _with_agent_options(command):
    """Add the shared options to ``command``'s signature; it receives ``run`` (the run options)
    and ``config`` (a WebAgentConfig) instead of the individual agent options."""
    import functools
    import inspect

    own = [p for p in inspect.signature(command).parameters.values() if p.name not in ("run", "config")]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
              for name, (kind, option) in {**RUN_OPTIONS, **AGENT_OPTIONS}.items()]

    @functools.wraps(command)
    def wrapper(**kwargs):
        from ponder.evals.web import agent_config
        from ponder.usage import Budget

        agent = {name: kwargs.pop(name) for name in AGENT_OPTIONS}
        run = {name: kwargs.pop(name) for name in RUN_OPTIONS}
        config = agent_config(**agent, seed=run["seed"])
        run["budget"] = Budget.parse(run["budget"])
        del run["seed"]  # carried by the config
        run["runner"] = runner_from(run, run["workers"])
        return command(**kwargs, run=run, config=config)

    wrapper.__signature__ = inspect.Signature([*own, *shared])
    del wrapper.__wrapped__  # typer must read the new signature, not the command's
    return wrapper


def _summary(rows: list[dict]) -> None:
    from ponder.evals.report import summarize

    for s in summarize(rows):
        console.print(
            f"[bold]{escape(s['kind'])} {escape(s['strategy'])}[/] ({escape(s['model'])}): success {s['successes']}/{s['n']} = "
            f"{s['success_rate']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}], errors {s['errors']}, "
            f"{s['tokens']:.0f} tokens/task, {s['seconds']:.1f} s/task"
        )


@eval_app.command("web")
@_with_agent_options
def eval_web(
    out: str = _O(..., "--out", "-o", help="Results file (JSONL); rows already there are skipped."),
    tasks: str = _O("all", help="all | a site (shop, forum, wiki, ...) | comma-separated task ids."),
    per_site: int = _O(None, "--per-site", help="A stratified sample of this many tasks per site."),
    *, run: dict, config,
) -> None:
    """Evaluate a web strategy on the local sites' tasks."""
    from ponder.evals.web import run_web_eval

    _summary(run_web_eval(tasks=tasks, per_site=per_site, out=out, config=config, **run))


@eval_app.command("miniwob")
@_with_agent_options
def eval_miniwob(
    out: str = _O(..., "--out", "-o", help="Results file (JSONL); rows already there are skipped."),
    tasks: str = _O("all", help="all | comma-separated MiniWoB++ task names."),
    episodes: int = _O(1, help="Seeded episodes per task (the first with --seed)."),
    *, run: dict, config,
) -> None:
    """Evaluate a web strategy on MiniWoB++ tasks."""
    from ponder.evals.web import run_miniwob_eval

    _summary(run_miniwob_eval(tasks=tasks, episodes=episodes, out=out, config=config, **run))


@eval_app.command("qa")
def eval_qa(
    out: str = _O(..., "--out", "-o", help="Results file (JSONL); rows already there are skipped."),
    dataset: str = _O("hotpotqa", help="Dataset name or path."),
    method: str = _O("adaptive-note", help="QA method."),
    model: str = _O(None, "--model", "-m", help="Registry name (default smollm2-135m)."),
    workers: int = _O(1, help="Parallel workers."),
    limit: int = _O(None, help="Run at most this many questions."),
    seed: int = _O(0, help="Random seed."),
    budget: str = _O(None, help="Per-question limits, e.g. calls=20,tokens=20000."),
    top_k: int = _O(None, "--top-k", help="Passages retrieved per query (default: 3 for span and auto, 5 otherwise)."),
    index: str = _O(None, help="A prebuilt index folder (default: the dataset's cached index)."),
    ray: str = RAY_OPTIONS["ray"][1],
    unit_timeout: float = RAY_OPTIONS["unit_timeout"][1],
    worker_gpus: float = RAY_OPTIONS["worker_gpus"][1],
    settings: list[str] = _O(None, "--set", help="A method setting KEY=VALUE (repeatable), e.g. --set samples=8."),
) -> None:
    """Evaluate a retrieval QA method (see ponder.evals.qa)."""
    from ponder.evals.qa import parse_settings, run_qa_eval

    runner = runner_from({"ray": ray, "unit_timeout": unit_timeout, "worker_gpus": worker_gpus}, workers)
    rows = run_qa_eval(dataset=dataset, method=method, model=model, workers=workers, out=out, limit=limit, seed=seed,
                       budget=budget, top_k=top_k, index=index, runner=runner, **parse_settings(settings or []))
    _summary(rows)


def report(
    files: list[str] = typer.Argument(..., help="Results files (JSONL) from `ponder eval`."),
    png: str = _O(None, "--png", help="Where to write the success-against-compute plot (default: next to the first file)."),
    as_json: bool = _O(False, "--json", help="Print the summary as JSON."),
    as_markdown: bool = _O(False, "--markdown", help="Print the summary as a Markdown table."),
    paired_with: str = _O(None, "--paired", help="Also compare every strategy with this one (a label, e.g. greedy) "
                          "task by task: wins, losses and McNemar's exact p."),
) -> None:
    """Summarise results: success rate with a Wilson 95% interval and compute per task, per
    (kind, strategy, model); writes a PNG of success against tokens."""
    from pathlib import Path

    from ponder.evals.report import load, markdown, paired, paired_markdown, plot, summarize, terminal_tables

    rows = load(files)
    summary = summarize(rows)
    pairs = paired(rows, paired_with) if paired_with else []
    target = Path(png) if png else Path(files[0]).with_name(Path(files[0]).stem + "-report.png")
    plot(summary, target)
    if as_json:
        print(json.dumps({"summary": summary, "paired": pairs, "png": str(target)}, indent=2))
        return
    if as_markdown or not console.is_terminal:
        # a file or a pipe gets Markdown: a rich table there is cut to the pipe's 80 columns
        print(markdown(summary) + ("\n\n" + paired_markdown(pairs) if pairs else ""))
        if not as_markdown:
            print(f"\nplot: {target}")
        return
    for table in terminal_tables(summary, console.width):
        console.print(table)
    if pairs:
        console.print(escape(paired_markdown(pairs)))
    console.print(f"plot: {escape(str(target))}")


@trace_app.command("view")
def trace_view(
    trace: str = typer.Argument(..., help="A trace JSON file (written by `ponder eval web`)."),
    out: str = _O(None, "--out", "-o", help="The HTML file (default: the trace's name with .html)."),
) -> None:
    """Write a self-contained HTML page that draws the search tree and steps through it."""
    from ponder.graphs.trace import write_html

    path = write_html(trace, out)
    console.print(f"wrote {escape(str(path))}")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
    app.add_typer(trace_app, name="trace")
    app.command("report")(report)
