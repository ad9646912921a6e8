"""``ponder collect miniwob|web|demos|build`` and ``ponder train value|actor``: learning from the
environments' own rewards (see :mod:`ponder.learning` and docs/learning.md)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.markup import escape

from ponder.cli.evals import _O, _with_agent_options

console = Console()

collect_app = typer.Typer(no_args_is_help=True, help="Record every visited state of many episodes as a dataset.")
train_app = typer.Typer(no_args_is_help=True, help="Train a value function or an actor on collected states.")


def _tasks(spec: str) -> list[str]:
    from ponder.environments.miniwob import RECOMMENDED_TASKS

    if spec in ("first20", "train"):
        return list(RECOMMENDED_TASKS[:20])
    if spec in ("other13", "unseen"):
        return list(RECOMMENDED_TASKS[20:])
    if spec == "all":
        return list(RECOMMENDED_TASKS)
    return [s.strip() for s in spec.split(",") if s.strip()]


@collect_app.command("miniwob")
@_with_agent_options
def collect_miniwob_cmd(
    out: str = _O(..., "--out", "-o", help="The collection folder (resumable: rerun to continue)."),
    tasks: str = _O("first20", help="first20 (the training tasks) | other13 | all | comma-separated names."),
    seeds: str = _O("1000-1009", help="Episode seeds, e.g. 1000-1009 (training seeds are >= 1000)."),
    role: str = _O("train", help="train (seeds >= 1000) | heldout (states for measuring a verifier)."),
    gamma: float = _O(0.9, help="Discount of the Monte Carlo value targets per step."),
    *, run: dict, config,
) -> None:
    """Run MiniWoB++ episodes through the eval runner and record every visited state."""
    from ponder.learning.collect import collect_miniwob, parse_seeds

    folder = collect_miniwob(out, tasks=_tasks(tasks), seeds=parse_seeds(seeds), role=role, strategy=run["strategy"],
                             model=run["model"], config=config, workers=run["workers"], gamma=gamma, label=run["label"],
                             runner=run["runner"])
    _summary(folder)


@collect_app.command("web")
@_with_agent_options
def collect_web_cmd(
    out: str = _O(..., "--out", "-o", help="The collection folder (resumable: rerun to continue)."),
    tasks: str = _O("train", help="train (every local-site task outside the stratified 40) | eval (the 40) | all | a site "
                                  "| comma-separated task ids."),
    role: str = _O("train", help="train (refuses the stratified 40) | heldout (states for measuring a verifier)."),
    gamma: float = _O(0.9, help="Discount of the Monte Carlo value targets per step."),
    *, run: dict, config,
) -> None:
    """Run local-site tasks through the eval runner (as `ponder eval web`) and record every visited state."""
    from ponder.learning.collect import collect_web

    folder = collect_web(out, tasks=tasks, role=role, strategy=run["strategy"], model=run["model"], config=config,
                         workers=run["workers"], gamma=gamma, label=run["label"], runner=run["runner"])
    _summary(folder)


@collect_app.command("demos")
def collect_demos_cmd(
    out: str = _O(..., "--out", "-o", help="The collection folder (resumable: rerun to continue)."),
    tasks: str = _O("train", help="train (every local-site task outside the stratified 40) | comma-separated task ids."),
    workers: int = _O(1, help="Parallel workers, each with its own browser and sites."),
    gamma: float = _O(0.9, help="Discount of the Monte Carlo value targets per step."),
) -> None:
    """Replay the local-site tasks' reference solutions in the real sites and record every state:
    demonstrations that `ponder train actor --data OUT` clones."""
    from ponder.learning.collect import collect_demos

    folder, failed = collect_demos(out, tasks=tasks, workers=workers, gamma=gamma)
    for r in failed:
        why = r.get("error") or "; ".join(r.get("action_errors") or []) or f"score {r.get('score')}"
        console.print(f"[yellow]skipped {escape(str(r['id']).rpartition('#')[0])}: the reference does not solve it "
                      f"({escape(str(why))[:200]})[/yellow]")
    _summary(folder)


def _summary(folder) -> None:
    from ponder.learning.dataset import load_states

    rows, _ = load_states(folder)
    solved = sum(float(r["reward"]) > 0 for r in rows)
    console.print(f"{escape(str(folder))}: {len(rows)} states, {solved} solved, "
                  f"{len({(r['task'], r['seed']) for r in rows})} episodes")


@collect_app.command("build")
def collect_build(folder: str = typer.Argument(..., help="A collection folder.")) -> None:
    """Rebuild a collection's shards from its raw records and traces (nothing collected is lost)."""
    from ponder.learning.dataset import build_dataset

    paths = build_dataset(folder)
    console.print(f"wrote {len(paths)} shard(s) under {escape(folder)}/data")


@train_app.command("value")
def train_value_cmd(
    data: list[str] = _O(..., "--data", help="Collection folder(s) with role train (repeatable)."),
    out: str = _O(..., "--out", "-o", help="The model folder (a rerun resumes from its checkpoints)."),
    base: str = _O(None, help="Model to start from (default: the bundled all-MiniLM-L6-v2)."),
    epochs: float = _O(3.0, help="Training epochs."),
    max_steps: int = _O(-1, "--max-steps", help="Stop after this many steps (overrides --epochs)."),
    batch_size: int = _O(16, "--batch-size", help="Examples per step."),
    learning_rate: float = _O(5e-5, "--lr", help="Learning rate."),
    max_length: int = _O(256, "--max-length", help="Tokens per example."),
    save_steps: int = _O(50, "--save-steps", help="Checkpoint every this many steps."),
    threads: int = _O(1, help="Torch threads on the CPU."),
    heldout: str = _O(None, "--heldout-traces", help="Traces of an oracle run on held-out episodes: report AUC there."),
) -> None:
    """Train a verifier (objective, actions, page) -> P(success); use it with --value learned:OUT."""
    from ponder.learning.dataset import trace_states
    from ponder.learning.train_value import train_value

    held = trace_states(heldout) if heldout else None
    card = train_value(data, out, base=base, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                       learning_rate=learning_rate, max_length=max_length, save_steps=save_steps, threads=threads, heldout=held)
    print(json.dumps({k: card[k] for k in ("training", "finished", "heldout") if k in card}, indent=1))


@train_app.command("actor")
def train_actor_cmd(
    data: list[str] = _O(..., "--data", help="Collection folder(s) with role train (repeatable)."),
    out: str = _O(..., "--out", "-o", help="The model folder, loadable as hf:OUT (a rerun resumes)."),
    base: str = _O("smollm2-135m", help="The actor model to fine-tune (a transformers registry model)."),
    epochs: float = _O(2.0, help="Training epochs."),
    max_steps: int = _O(-1, "--max-steps", help="Stop after this many steps (overrides --epochs)."),
    batch_size: int = _O(4, "--batch-size", help="Examples per step."),
    learning_rate: float = _O(2e-4, "--lr", help="Learning rate."),
    lora_r: int = _O(16, "--lora-r", help="LoRA rank."),
    save_steps: int = _O(50, "--save-steps", help="Checkpoint every this many steps."),
    threads: int = _O(1, help="Torch threads on the CPU."),
) -> None:
    """Filtered behaviour cloning (LoRA) on the successful trajectories; use it with --model hf:OUT."""
    from ponder.learning.train_actor import train_actor

    card = train_actor(data, out, base=base, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                       learning_rate=learning_rate, lora_r=lora_r, save_steps=save_steps, threads=threads)
    print(json.dumps({k: card[k] for k in ("training", "finished") if k in card}, indent=1))


def register(app: typer.Typer) -> None:
    app.add_typer(collect_app, name="collect")
    app.add_typer(train_app, name="train")
