"""Tasks in WebArena's task-config JSON format, plus ponder's fields.

A task file is a JSON object (one task, like WebArena's ``config_files/N.json``) or a JSON list
of them (like ``test.raw.json`` and ponder's ``task_data/*.json``). The fields:

- WebArena's: ``task_id``, ``sites``, ``start_url`` (several joined by ``" |AND| "``),
  ``intent``, ``require_login``, ``eval`` (``eval_types`` among ``string_match``, ``url_match``,
  ``program_html``, plus ponder's ``db_state``; ``reference_answers`` with ``exact_match``,
  ``must_include``, ``fuzzy_match``; ``reference_url`` and ``url_note``; ``program_html`` entries
  with ``url``, ``locator``, ``required_contents``; ``string_note``). Any other field
  (``storage_state``, ``intent_template``, ...) is kept in :attr:`Task.raw`.
- ponder's: ``difficulty`` (easy, medium, hard), ``category`` (info, navigation, state) and
  ``reference`` (a reference solution: a list of action strings).

URLs may hold site placeholders: ``__SHOP__``, ``__FORUM__``, ``__WIKI__`` for the local sites,
and WebArena's (``__SHOPPING__``, ``__REDDIT__``, ...) for a WebArena deployment; see
:func:`ponder.environments.urls.resolve_url` (re-exported here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ponder.environments.task_schema import CATEGORIES, DIFFICULTIES, EVAL_TYPES, check_task
from ponder.environments.urls import PLACEHOLDER, resolve_url
from ponder.errors import ConfigError, TaskConfigError

__all__ = ["CATEGORIES", "DIFFICULTIES", "EVAL_TYPES", "PLACEHOLDER", "TASK_DATA", "Task", "builtin_tasks",
           "get_task", "load_tasks", "resolve_url", "task_from_dict"]

TASK_DATA = Path(__file__).with_name("task_data")


@dataclass
class Task:
    """One task. ``eval`` keeps WebArena's shape (see the module docstring)."""

    task_id: str
    sites: list[str]
    start_url: str
    intent: str
    require_login: bool
    eval: dict
    difficulty: str = "unknown"
    category: str = "info"
    reference: list[str] = field(default_factory=list)
    source: str = ""
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def site(self) -> str:
        """The first (main) site."""
        return self.sites[0] if self.sites else ""

    @property
    def eval_types(self) -> list[str]:
        return list(self.eval.get("eval_types") or [])

    def to_dict(self) -> dict:
        """The task as a JSON-ready config (WebArena's fields, then ponder's)."""
        out = {k: v for k, v in self.raw.items() if k not in ("task_id", "sites", "start_url", "intent", "require_login", "eval")}
        out.update(task_id=self.task_id, sites=self.sites, start_url=self.start_url, intent=self.intent,
                   require_login=self.require_login, eval=self.eval, difficulty=self.difficulty,
                   category=self.category, reference=self.reference)
        return out


def task_from_dict(d: Any, source: str = "<dict>") -> Task:
    """Validate one task config (:mod:`ponder.environments.task_schema`) and build a :class:`Task`.

    Raises:
        TaskConfigError: naming ``source``, the task and the bad field.
    """
    check_task(d, source)
    ev = d["eval"]
    return Task(
        task_id=str(d["task_id"]), sites=list(d["sites"]), start_url=d["start_url"], intent=d["intent"],
        require_login=bool(d.get("require_login", False)), eval=ev, difficulty=d.get("difficulty", "unknown"),
        category=d.get("category") or _infer_category(ev), reference=list(d.get("reference", [])),
        source=source, raw=dict(d),
    )


def _infer_category(ev: dict) -> str:
    types = ev.get("eval_types") or []
    if "db_state" in types or "program_html" in types:
        return "state"
    if "url_match" in types:
        return "navigation"
    return "info"


def load_tasks(path: str | Path) -> list[Task]:
    """Tasks from a JSON file (one task or a list) or from every ``*.json`` in a folder.

    Raises:
        TaskConfigError: a file is not JSON or a task is malformed (the message names the file,
            the task and the field); a task id appears twice.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
    elif path.is_file():
        files = [path]
    else:
        raise TaskConfigError(f"{path}: no such task file or folder")
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise TaskConfigError(f"{file}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
        items = data if isinstance(data, list) else [data]
        for item in items:
            task = task_from_dict(item, str(file))
            if task.task_id in seen:
                raise TaskConfigError(f"{file}: task {task.task_id}: field 'task_id' repeats a task from {seen[task.task_id]}")
            seen[task.task_id] = str(file)
            tasks.append(task)
    return tasks


@lru_cache(maxsize=1)
def _builtin() -> tuple[Task, ...]:
    return tuple(load_tasks(TASK_DATA))


def builtin_tasks(site: str | None = None) -> list[Task]:
    """ponder's built-in tasks for the local sites (all, or those of one ``site``)."""
    tasks = list(_builtin())
    return [t for t in tasks if site is None or t.site == site]


def get_task(task_id: str) -> Task:
    """A built-in task by id."""
    for task in _builtin():
        if task.task_id == task_id:
            return task
    raise ConfigError(f"no built-in task {task_id!r}", hint="`ponder web tasks` lists them")
