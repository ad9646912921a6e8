"""Service configuration: a TOML or YAML file, then ``PONDER_SERVICE_*`` environment variables,
then command-line flags (each layer overrides the one before).

    # service.toml
    host = "127.0.0.1"          # loopback unless you mean to expose it
    port = 8355
    data_dir = "~/.local/share/ponder/service"
    rag_model = "smollm2-135m"
    index = "hybrid"

    [models.smollm2-135m]       # served under this name (GET /v1/models)
    kind = "registry"           # any name ponder.models.registry knows
    [models.scripted]
    kind = "scripted"           # a ScriptedChatModel: rules = [[regex, reply], ...], default, latency

    [limits]
    max_body_bytes = 10485760
    rate_per_minute = 600

Environment: ``PONDER_SERVICE_CONFIG`` (the file), ``PONDER_SERVICE_<FIELD>`` for top-level
fields (``PONDER_SERVICE_PORT=9000``) and ``PONDER_SERVICE_LIMITS__<FIELD>`` for limits.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ponder.errors import ConfigError

ENV_PREFIX = "PONDER_SERVICE_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ponder")) / "service"


class ModelConfig(BaseModel):
    """One model the service serves (by its key in ``models``)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["registry", "scripted", "factory"] = "registry"
    #: registry: the registry name (default: the key). factory: ``"module:callable"`` returning a ChatModel.
    name: str | None = None
    factory: str | None = None
    #: scripted: ``[[regex, reply], ...]``; a reply may use ``\\1`` / ``\\g<name>`` from its regex.
    rules: list[tuple[str, str]] = Field(default_factory=list)
    default: str | None = "I don't know."
    latency: float = Field(0.0, ge=0, description="scripted: seconds slept per (batched) call")
    #: passed to the registry or factory as keyword arguments
    options: dict[str, Any] = Field(default_factory=dict)
    #: most conversations merged into one generate_batch call
    max_batch: int = Field(8, ge=1, le=256)
    #: how long an idle model waits for more requests before running a partial batch (0: take
    #: what is queued; requests arriving during a call form the next batch anyway)
    batch_wait_ms: float = Field(0.0, ge=0, le=1000)


class Limits(BaseModel):
    """Request limits. ``0`` disables a rate limit."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="bigger bodies get 413")
    max_document_bytes: int = Field(2 * 1024 * 1024, ge=1, description="bigger documents are skipped with a reason")
    max_question_chars: int = Field(4000, ge=1)
    max_messages: int = Field(64, ge=1, description="chat completions: messages per request")
    max_tokens: int = Field(512, ge=1, description="cap on completion tokens per model call")
    max_top_k: int = Field(50, ge=1)
    rate_per_minute: float = Field(600.0, ge=0, description="per API key; 0 = unlimited")
    rate_burst: int = Field(60, ge=1, description="requests a key may make at once before the rate applies")
    #: failed authentications a client address may have (checked before any key work); a
    #: client over it gets 429 for every /v1/ request until its bucket refills. 0 = unlimited
    auth_failures_per_minute: float = Field(30.0, ge=0, description="per client address; 0 = unlimited")
    auth_failure_burst: int = Field(10, ge=1, description="failed authentications at once before the rate applies")
    #: the most compute one ask may spend, whatever budget the client asks for
    max_budget: str = "calls=32,tokens=32000,retrievals=64"
    max_concurrent_asks: int = Field(8, ge=1, le=256, description="questions and chats worked on at once; more wait their turn")
    commit_every: int = Field(32, ge=1, description="documents per atomic ingest commit")
    max_workers: int = Field(2, ge=1, description="ingest jobs running at once")


class ServiceConfig(BaseModel):
    """Everything ``ponder serve`` needs. Defaults are safe: loopback, keys required, no URL fetching."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8355, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    #: the model that answers ``ponder-rag/<collection>`` and ``/v1/ask``
    rag_model: str = "smollm2-135m"
    models: dict[str, ModelConfig] = Field(default_factory=lambda: {"smollm2-135m": ModelConfig()})
    #: load every model at start-up instead of on first use
    preload: bool = False
    #: torch intra-op threads for local models (None: torch's default, one per core). On a
    #: machine shared with other busy processes, 1 avoids OpenMP oversubscription, which was
    #: seen to slow SmolLM2 generation 15x on 2 busy cores
    torch_threads: int | None = Field(None, ge=1, le=256)
    #: index kind for new collections: hybrid (dense + BM25), dense (FAISS) or sparse (BM25)
    index: Literal["hybrid", "dense", "sparse"] = "hybrid"
    #: embedder name or folder for dense/hybrid indexes (None: the retrieval default, MiniLM)
    embedder: str | None = None
    default_method: str = "single"
    #: passages per retrieval when a request names none (None: the method's own default, 3 for
    #: span and auto, 5 for the others)
    default_top_k: int | None = Field(None, ge=1)
    chunk_size: int | None = Field(None, ge=50, description="characters per chunk (None: the retrieval default, 1200)")
    chunk_overlap: int | None = Field(None, ge=0)
    require_keys: bool = True
    #: keys file (default: <data_dir>/keys.json)
    keys_file: Path | None = None
    #: /metrics without a key (a scraper on loopback)
    public_metrics: bool = True
    allow_url_fetch: bool = False
    url_fetch_timeout: float = Field(10.0, gt=0)
    #: non-public addresses URL fetch may reach anyway: "10.0.0.0/8", "127.0.0.1", "127.0.0.1:8080"
    url_fetch_allow: list[str] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    log_level: str = "info"

    @field_validator("data_dir", "keys_file", mode="before")
    @classmethod
    def _expand(cls, v):
        return Path(v).expanduser() if isinstance(v, str | Path) else v

    @field_validator("url_fetch_allow")
    @classmethod
    def _allow_list(cls, v):
        from ponder.service.fetch import AllowList

        try:
            AllowList(v)
        except Exception as e:  # noqa: BLE001 - a PonderError, reported as this field's error
            raise ValueError(str(e)) from e
        return v

    @property
    def keys_path(self) -> Path:
        return self.keys_file or (self.data_dir / "keys.json")

    def model_names(self) -> list[str]:
        names = list(self.models)
        if self.rag_model not in names:
            names.append(self.rag_model)
        return names


def _read_file(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"service config {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except Exception as e:  # noqa: BLE001 - any parser's error becomes one ConfigError
        raise ConfigError(f"{path}: cannot parse: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a table/mapping")
    return data.get("service", data) if isinstance(data.get("service"), dict) else data


def _env_overrides(environ: dict[str, str]) -> dict:
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        path = key[len(ENV_PREFIX):].lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None, *, environ: dict[str, str] | None = None, **overrides) -> ServiceConfig:
    """Build a :class:`ServiceConfig` from a file (``path`` or ``$PONDER_SERVICE_CONFIG``), the
    environment, and keyword overrides (``None`` values are ignored).

    Raises:
        ConfigError: naming the file and field that is wrong.
    """
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get(ENV_PREFIX + "CONFIG")
    data: dict = _read_file(Path(path).expanduser()) if path else {}
    data = _merge(data, _env_overrides(environ))
    data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceConfig.model_validate(data)
    except ValidationError as e:
        where = f"{path}: " if path else ""
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"{where}invalid service config: {problems}",
                          hint="see docs/service.md for the fields and their defaults") from e
