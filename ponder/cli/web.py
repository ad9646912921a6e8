"""``ponder web``: the local web environments.

    ponder web serve [--site shop] [--port 8000] [--seed 0]   # browse the sites yourself
    ponder web tasks [--site S] [--json] [--webarena PATH]     # list tasks
    ponder web act TASK [--reference | -a ACTION ...] [--json]  # act in a real browser
"""

from __future__ import annotations

import json

import typer

web_app = typer.Typer(no_args_is_help=True, help="Local web environments: sites, tasks, evaluators.")


@web_app.command()
def serve(
    site: list[str] = typer.Option([], "--site", "-s", help="Serve only this site (repeatable; default: all)."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1 (0 picks a free one)."),
    seed: int = typer.Option(0, help="Data seed."),
    data_dir: str = typer.Option(None, help="Folder for the database file (default: a temporary one)."),
) -> None:
    """Serve the sites on loopback until Ctrl-C (logins: alex / password123)."""
    import signal
    import time

    from rich.console import Console

    from ponder.environments.server import SiteServer
    from ponder.environments.sites import SITE_NAMES

    def stop_on_term(signum, frame):  # `kill` stops the server as cleanly as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    console = Console()
    server = SiteServer(data_dir, sites=tuple(site) or SITE_NAMES, seed=seed, port=port).start()
    try:
        for name, url in server.base_urls.items():
            console.print(f"[bold]{name:6}[/] {url}/")
        console.print("[dim]sign in as alex / password123; Ctrl-C stops[/]")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@web_app.command()
def tasks(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
    site: str = typer.Option(None, "--site", "-s", help="Only this site's tasks."),
    webarena: str = typer.Option(None, help="List WebArena's tasks from this test.raw.json instead."),
    path: str = typer.Option(None, help="List the tasks in this file or folder instead."),
) -> None:
    """List tasks: id, site, difficulty, category, eval types and intent."""
    from ponder.environments.tasks import builtin_tasks, load_tasks

    if webarena:
        from ponder.environments.webarena import load_webarena_tasks

        found = load_webarena_tasks(webarena)
    elif path:
        found = load_tasks(path)
    else:
        found = builtin_tasks()
    if site:
        found = [t for t in found if t.site == site]
    rows = [{"id": t.task_id, "site": t.site, "sites": t.sites, "difficulty": t.difficulty, "category": t.category,
             "eval_types": t.eval_types, "require_login": t.require_login, "intent": t.intent} for t in found]
    if as_json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "site", "difficulty", "category", "eval", "intent")
    for r in rows:
        table.add_row(r["id"], r["site"], r["difficulty"], r["category"], ",".join(r["eval_types"]), r["intent"][:70])
    console = Console()
    console.print(table)
    console.print(f"{len(rows)} tasks")


def _add_act() -> None:  # `ponder web act` lives with the browser code (ponder/cli/web_act.py)
    from ponder.cli.web_act import act

    web_app.command(name="act")(act)


_add_act()


def register(app: typer.Typer) -> None:
    app.add_typer(web_app, name="web")
