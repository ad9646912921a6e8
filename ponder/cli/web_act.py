"""``ponder web act``: drive a web environment by hand or from a script, in real Chromium.

    ponder web act shop-001 --reference                 # run the task's reference solution
    ponder web act shop-001 -a "click [link 'Books']" -a "stop [x]" --json
    ponder web act miniwob:click-button --seed 3        # an interactive session (type actions)
"""

from __future__ import annotations

import json
import sys

import typer


def act(
    task: str = typer.Argument(..., help="A built-in task id (see `ponder web tasks`) or miniwob:<task>."),
    action: list[str] = typer.Option([], "--action", "-a", help="An action to run (repeatable); none: read from stdin."),
    reference: bool = typer.Option(False, help="Run the task's reference solution."),
    seed: int = typer.Option(0, help="MiniWoB++ episode seed."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per step, then the score."),
    max_chars: int = typer.Option(6000, help="Cut observations past this many characters."),
    chromium: str = typer.Option(None, help="Chromium executable (default: chromium on PATH)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print observations."),
) -> None:
    """Reset a task, run actions (given, the reference solution, or typed at the prompt), print
    each observation and the final score."""
    from rich.console import Console

    from ponder.errors import ConfigError, EnvError

    console = Console(stderr=as_json)
    if task.startswith("miniwob:"):
        from ponder.environments.miniwob import MiniWoBEnv

        if reference:
            raise ConfigError("MiniWoB++ tasks have no reference solution", hint="pass --action or type actions")
        env = MiniWoBEnv(chromium=chromium, max_obs_chars=max_chars)
        obs = env.reset(task.split(":", 1)[1], seed=seed)
    else:
        from ponder.environments.tasks import get_task
        from ponder.environments.webenv import WebEnv

        t = get_task(task)
        env = WebEnv(chromium=chromium, max_obs_chars=max_chars)
        obs = env.reset(t)
        if reference:
            action = list(t.reference)

    def show(o, header: str) -> None:
        if quiet or as_json:
            return
        console.rule(header)
        console.print(f"[bold]intent:[/] {o.intent}\n[bold]url:[/] {o.url}   [bold]tabs:[/] {o.tabs}", highlight=False)
        if o.last_action_error:
            console.print(f"[red]error:[/] {o.last_action_error}", highlight=False, markup=True)
        console.print(o.text, markup=False, highlight=False)

    try:
        show(obs, "reset")
        interactive = not action
        actions = iter(action) if action else _prompt(console)
        for i, a in enumerate(actions, 1):
            res = env.step(a)
            if as_json:
                print(json.dumps({"step": i, "action": a, "url": res.observation.url,
                                  "error": res.observation.last_action_error, "info": res.info,
                                  "done": res.done, "answer": res.answer}, default=str))
            show(res.observation, f"{i}: {a}" + ("  [destructive]" if res.info.get("destructive") else ""))
            if res.done and not interactive:
                break
            if res.done:
                console.print("[dim]episode over[/]")
                break
        try:
            score = env.evaluate()
            out = {"task": task, "score": score.value, "details": score.details, "answer": env.answer}
        except EnvError as e:
            out = {"task": task, "score": None, "env_error": str(e)}
        if as_json:
            print(json.dumps(out, default=str))
        else:
            console.print(f"[bold]score:[/] {out['score']}  {out.get('env_error', '')}", highlight=False)
    finally:
        env.close()


def _prompt(console):
    """Actions typed at the prompt until EOF or ``quit``."""
    while True:
        try:
            line = input("action> ") if sys.stdin.isatty() else sys.stdin.readline()
        except EOFError:
            return
        if not line:
            return
        line = line.strip()
        if line in ("quit", "exit", "q"):
            return
        if line:
            yield line
