"""``ponder serve``: run the RAG service; ``ponder serve keys ...``: manage its API keys."""

from __future__ import annotations

from pathlib import Path

import typer

from ponder.errors import ConfigError


def _config(config: Path | None, data_dir: Path | None, **kw):
    from ponder.service.config import load_config

    return load_config(config, data_dir=str(data_dir) if data_dir else None, **kw)


def register(app: typer.Typer) -> None:
    serve = typer.Typer(help="Run the RAG question-answering service (HTTP, OpenAI-compatible).",
                        invoke_without_command=True, no_args_is_help=False)
    keys = typer.Typer(help="Create, list and revoke the service's API keys.", no_args_is_help=True)
    serve.add_typer(keys, name="keys")
    app.add_typer(serve, name="serve")

    @serve.callback()
    def run(
        ctx: typer.Context,
        config: Path = typer.Option(None, "--config", "-c", help="Service config (TOML, YAML or JSON)."),
        host: str = typer.Option(None, help="Bind address (default 127.0.0.1)."),
        port: int = typer.Option(None, help="Port (default 8355)."),
        data_dir: Path = typer.Option(None, help="Where collections, jobs and keys live."),
        log_level: str = typer.Option(None, help="uvicorn log level."),
    ) -> None:
        """Serve until interrupted. Collections and unfinished ingest jobs are reloaded at start."""
        if ctx.invoked_subcommand is not None:
            return
        import uvicorn
        from rich.console import Console

        from ponder.service.app import create_app

        cfg = _config(config, data_dir, host=host, port=port, log_level=log_level)
        application = create_app(cfg)
        service = application.state.service
        console = Console(stderr=True)
        console.print(
            f"ponder service on http://{cfg.host}:{cfg.port}  data {cfg.data_dir}  "
            f"collections {len(service.store.collections)}  keys {len(service.keys.list())}",
            highlight=False,
        )
        if cfg.require_keys and not service.keys.list():
            console.print("[yellow]no API keys yet:[/] ponder serve keys create --name me --collections '*'"
                          + (f" --config {config}" if config else f" --data-dir {cfg.data_dir}"))
        if cfg.host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"[yellow]listening on {cfg.host}: reachable from other machines[/]")
        uvicorn.run(application, host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=False)

    @keys.command("create")
    def create(
        name: str = typer.Option(..., help="A label for the key (who or what uses it)."),
        collections: str = typer.Option(..., help="Comma-separated collection names, or '*' for all."),
        config: Path = typer.Option(None, "--config", "-c", help="Service config (to find the keys file)."),
        data_dir: Path = typer.Option(None, help="The service's data directory."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Create a key and print it (only now: it is stored hashed)."""
        import json

        from ponder.service.keys import KeyStore

        cfg = _config(config, data_dir)
        allowed = [c.strip() for c in collections.split(",") if c.strip()]
        if not allowed:
            raise ConfigError("--collections is empty", hint="name collections, or '*' for all")
        key, rec = KeyStore(cfg.keys_path).create(name, allowed)
        if as_json:
            print(json.dumps({"key": key, **rec.public()}))
        else:
            print(key)
            typer.echo(f"id {rec.id}, collections {','.join(rec.collections)}; stored hashed in {cfg.keys_path}", err=True)

    @keys.command("list")
    def list_keys(
        config: Path = typer.Option(None, "--config", "-c", help="Service config."),
        data_dir: Path = typer.Option(None, help="The service's data directory."),
    ) -> None:
        """List keys (ids, names, collections; never the keys themselves)."""
        from ponder.service.keys import KeyStore

        cfg = _config(config, data_dir)
        for rec in KeyStore(cfg.keys_path).list():
            state = "revoked" if rec.revoked else "active"
            # an old scrypt record becomes sha256 at its key's first use (docs/service.md, Keys)
            legacy = "  (scrypt: upgraded at first use)" if rec.scheme == "scrypt" and not rec.revoked else ""
            print(f"{rec.id}  {rec.name}  {','.join(rec.collections)}  {state}{legacy}")

    @keys.command("revoke")
    def revoke(
        key_id: str = typer.Argument(..., help="The key's id (from `keys list`)."),
        config: Path = typer.Option(None, "--config", "-c", help="Service config."),
        data_dir: Path = typer.Option(None, help="The service's data directory."),
    ) -> None:
        """Revoke a key (a running server notices at its next request)."""
        from ponder.service.keys import KeyStore

        cfg = _config(config, data_dir)
        rec = KeyStore(cfg.keys_path).revoke(key_id)
        print(f"revoked {rec.id} ({rec.name})")
