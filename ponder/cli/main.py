"""``ponder``: the command line.

Sub-command groups live in sibling modules (``web``, ``qa``, ``evals``, ``graph``, ``service``)
that each expose ``register(app)``; they must import heavy libraries lazily so ``ponder --help``
stays fast. Expected failures (:class:`~ponder.errors.PonderError`) print one line and a hint,
never a traceback.
"""

from __future__ import annotations

import importlib
import json
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ponder import __version__
from ponder.errors import PonderError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="LLM agents that get better with test-time compute.")
console = Console()
err_console = Console(stderr=True)

SUBCOMMAND_MODULES = ("web", "qa", "evals", "graph", "service")


def _version(value: bool) -> None:
    if value:
        print(f"ponder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """ponder: interaction, retrieval and collaboration scaling for LLM agents."""


@app.command()
def models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered models and whether each is installed here."""
    from ponder.models.registry import available_models

    rows = available_models()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "backend", "installed", "where / how to install")
    for r in rows:
        table.add_row(r["name"], r["backend"], "[green]yes[/]" if r["installed"] else "[red]no[/]", escape(r["where"]))
    console.print(table)
    console.print("Also: openai:<model>@<base_url>, hf:<folder>, llamacpp:<file.gguf>; more in ponder.toml.")


@app.command()
def chat(
    prompt: str = typer.Argument(..., help="What to ask."),
    model: str = typer.Option(None, "--model", "-m", help="Registry name (default smollm2-135m)."),
    n: int = typer.Option(1, "--n", help="Samples to draw in one batched call."),
    temperature: float = typer.Option(None, help="Sampling temperature (default 0, or 0.8 when n > 1)."),
    max_tokens: int = typer.Option(128, help="New tokens per sample."),
    system: str = typer.Option(None, help="An optional system message."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Ask a model once (or n times, batched) and print the answers and the usage."""
    from ponder.models.registry import load_model
    from ponder.usage import Usage

    llm = load_model(model)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    usage = Usage()
    temp = temperature if temperature is not None else (0.8 if n > 1 else 0.0)
    outs = llm.generate(messages, n=n, temperature=temp, max_tokens=max_tokens, seed=seed, usage=usage)
    for i, c in enumerate(outs):
        prefix = f"[{i + 1}] " if n > 1 else ""
        console.print(f"{prefix}{c.text}", markup=False, highlight=False)
    console.print(f"[dim]{llm.name}: {usage.to_dict()}[/]")


@app.command()
def demo(model: str = typer.Option(None, "--model", "-m", help="Registry name (default smollm2-135m).")) -> None:
    """Run the main job on embedded defaults: every capability, briefly, with the local model."""
    from ponder.demo import run_demo

    run_demo(console, model)


@app.command()
def bench(
    name: str = typer.Argument(..., help="Which benchmark (see `ponder bench list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object {bench, metrics}."),
    device: str = typer.Option(None, help="Device for model benches (cpu, cuda)."),
    quick: bool = typer.Option(False, help="A smaller, faster run (for smoke tests)."),
    option: list[str] = typer.Option([], "--set", help="Bench-specific KEY=VALUE (repeatable)."),
    out: str = typer.Option(None, help="Also write the JSON to this file."),
) -> None:
    """Run a benchmark; with --json print {"bench": NAME, "metrics": {...}}."""
    from ponder.evals.bench import BENCHES, run_bench

    if name == "list":
        for key, (_, doc) in BENCHES.items():
            console.print(f"[bold]{key}[/]  {doc}")
        return
    opts: dict[str, str] = {}
    for item in option:
        key, sep, value = item.partition("=")
        if not sep:
            raise PonderError(f"--set {item!r} is not KEY=VALUE")
        opts[key.replace("-", "_")] = value
    if device:
        opts["device"] = device
    result = run_bench(name, quick=quick, **opts)
    text = json.dumps(result, indent=None if as_json else 2)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")
    if as_json:
        print(text)
    else:
        table = Table("metric", "value", title=f"bench {name}")
        for k, v in result["metrics"].items():
            table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
        console.print(table)


def _register_subcommands() -> None:
    for mod in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"ponder.cli.{mod}")
        except ModuleNotFoundError as e:
            if e.name == f"ponder.cli.{mod}":
                continue  # that capability is not built yet
            raise
        module.register(app)


_register_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: expected errors print as one line plus a hint."""
    from ponder.cli.evals import expand_bare_ray

    try:
        app(args=expand_bare_ray(sys.argv[1:] if argv is None else argv), standalone_mode=False)
    except PonderError as e:
        err_console.print(f"[bold red]error:[/] {escape(e.message)}", highlight=False)
        if e.hint:
            err_console.print(f"[dim]hint: {escape(e.hint)}[/]", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as e:  # usage errors (an unknown option, a bad value) come here in non-standalone mode
        import click

        # typer >= 0.24 raises its own vendored click's exceptions, older typer the click package's
        if isinstance(e, (click.ClickException, typer.TyperException)) and hasattr(e, "show"):
            e.show()
            sys.exit(getattr(e, "exit_code", 2))
        raise


if __name__ == "__main__":
    main()
