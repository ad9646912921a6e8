"""Web environments in the spirit of WebArena: local sites (shop, forum, wiki) served on
loopback, tasks in WebArena's JSON format, evaluators with WebArena's semantics, and a loader for
WebArena's own task configs.

Imports are lazy so ``import ponder.environments`` stays cheap; the names below resolve on first
use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SiteServer": "ponder.environments.server",
    "Task": "ponder.environments.tasks",
    "builtin_tasks": "ponder.environments.tasks",
    "load_tasks": "ponder.environments.tasks",
    "resolve_url": "ponder.environments.urls",
    "Score": "ponder.environments.evaluators",
    "evaluate": "ponder.environments.evaluators",
    "load_webarena_tasks": "ponder.environments.webarena",
    "WebEnv": "ponder.environments.webenv",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ponder.environments' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
