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
:func:`resolve_url`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, TaskConfigError

TASK_DATA = Path(__file__).with_name("task_data")
EVAL_TYPES = ("string_match", "url_match", "program_html", "db_state")
DIFFICULTIES = ("easy", "medium", "hard", "unknown")
CATEGORIES = ("info", "navigation", "state")
PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*[A-Z0-9])__")


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


def _fail(source: str, task_id: Any, where: str, problem: str) -> TaskConfigError:
    who = f"task {task_id}" if task_id is not None else "a task"
    return TaskConfigError(f"{source}: {who}: field '{where}' {problem}",
                           hint="see docs/environments.md for the task format")


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_eval(ev: Any, source: str, tid: Any) -> dict:
    if not isinstance(ev, dict):
        raise _fail(source, tid, "eval", "must be an object")
    types = ev.get("eval_types")
    if not _str_list(types) or not types:
        raise _fail(source, tid, "eval.eval_types", "must be a non-empty list of strings")
    for t in types:
        if t not in EVAL_TYPES:
            raise _fail(source, tid, "eval.eval_types", f"has unknown type {t!r} (known: {', '.join(EVAL_TYPES)})")
    if "string_match" in types:
        ref = ev.get("reference_answers")
        if not isinstance(ref, dict) or not ref:
            raise _fail(source, tid, "eval.reference_answers", "must be an object for string_match")
        for key, value in ref.items():
            if key == "exact_match" and not isinstance(value, str):
                raise _fail(source, tid, "eval.reference_answers.exact_match", "must be a string")
            elif key == "must_include" and not _str_list(value):
                raise _fail(source, tid, "eval.reference_answers.must_include", "must be a list of strings")
            elif key == "fuzzy_match" and not (value == "N/A" or _str_list(value)):
                raise _fail(source, tid, "eval.reference_answers.fuzzy_match", 'must be a list of strings or "N/A"')
            elif key not in ("exact_match", "must_include", "fuzzy_match"):
                raise _fail(source, tid, f"eval.reference_answers.{key}", "is not exact_match, must_include or fuzzy_match")
    if "url_match" in types:
        if not isinstance(ev.get("reference_url"), str) or not ev["reference_url"].strip():
            raise _fail(source, tid, "eval.reference_url", "must be a non-empty string for url_match")
        note = ev.get("url_note") or "GOLD in PRED"
        if note not in ("GOLD in PRED", "EXACT"):
            raise _fail(source, tid, "eval.url_note", f"is {note!r}; expected 'GOLD in PRED' or 'EXACT'")
    if "program_html" in types:
        entries = ev.get("program_html")
        if not isinstance(entries, list) or not entries:
            raise _fail(source, tid, "eval.program_html", "must be a non-empty list for program_html")
        for i, entry in enumerate(entries):
            where = f"eval.program_html[{i}]"
            if not isinstance(entry, dict):
                raise _fail(source, tid, where, "must be an object")
            if not isinstance(entry.get("url"), str) or not entry["url"].strip():
                raise _fail(source, tid, f"{where}.url", 'must be a URL, "last" or "func:..."')
            if not isinstance(entry.get("locator", ""), str):
                raise _fail(source, tid, f"{where}.locator", "must be a string")
            _check_contents(entry.get("required_contents"), source, tid, f"{where}.required_contents")
    if "db_state" in types:
        entries = ev.get("db_state")
        if not isinstance(entries, list) or not entries:
            raise _fail(source, tid, "eval.db_state", "must be a non-empty list for db_state")
        for i, entry in enumerate(entries):
            where = f"eval.db_state[{i}]"
            if not isinstance(entry, dict):
                raise _fail(source, tid, where, "must be an object")
            sql = entry.get("sql")
            if not isinstance(sql, str) or not re.match(r"\s*(select|with)\b", sql, re.I):
                raise _fail(source, tid, f"{where}.sql", "must be a SELECT (or WITH) query")
            if not isinstance(entry.get("params", []), list):
                raise _fail(source, tid, f"{where}.params", "must be a list")
            checks = [k for k in ("expected", "required_contents") if k in entry]
            if len(checks) != 1:
                raise _fail(source, tid, where, "needs exactly one of 'expected' (rows) or 'required_contents'")
            if "expected" in entry and not (isinstance(entry["expected"], list)
                                            and all(isinstance(r, list) for r in entry["expected"])):
                raise _fail(source, tid, f"{where}.expected", "must be a list of rows (lists)")
            if "required_contents" in entry:
                _check_contents(entry["required_contents"], source, tid, f"{where}.required_contents")
    return ev


def _check_contents(value: Any, source: str, tid: Any, where: str) -> None:
    if not isinstance(value, dict) or len(value) != 1:
        raise _fail(source, tid, where, "must be an object with exactly one of exact_match, must_include")
    (key, content), = value.items()
    if key not in ("exact_match", "must_include"):
        raise _fail(source, tid, where, f"has unknown key {key!r} (expected exact_match or must_include)")
    if key == "exact_match" and isinstance(content, str):
        return
    if key == "must_include" and _str_list(content):
        return
    raise _fail(source, tid, f"{where}.{key}", "must be exact_match (a string) or must_include (a list of strings)")


def task_from_dict(d: Any, source: str = "<dict>") -> Task:
    """Validate one task config and build a :class:`Task`.

    Raises:
        TaskConfigError: naming ``source``, the task and the bad field.
    """
    if not isinstance(d, dict):
        raise TaskConfigError(f"{source}: a task must be a JSON object, got {type(d).__name__}")
    tid = d.get("task_id")
    if not isinstance(tid, (str, int)) or isinstance(tid, bool) or str(tid).strip() == "":
        raise _fail(source, None, "task_id", "is missing or not a string/integer")
    sites = d.get("sites")
    if not _str_list(sites) or not sites:
        raise _fail(source, tid, "sites", "must be a non-empty list of site names")
    for key in ("start_url", "intent"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            raise _fail(source, tid, key, "must be a non-empty string")
    if not isinstance(d.get("require_login", False), bool):
        raise _fail(source, tid, "require_login", "must be true or false")
    ev = _check_eval(d.get("eval"), source, tid)
    difficulty = d.get("difficulty", "unknown")
    if difficulty not in DIFFICULTIES:
        raise _fail(source, tid, "difficulty", f"is {difficulty!r}; expected one of {', '.join(DIFFICULTIES[:3])}")
    category = d.get("category") or _infer_category(ev)
    if category not in CATEGORIES:
        raise _fail(source, tid, "category", f"is {category!r}; expected one of {', '.join(CATEGORIES)}")
    reference = d.get("reference", [])
    if not _str_list(reference):
        raise _fail(source, tid, "reference", "must be a list of action strings")
    return Task(
        task_id=str(tid), sites=list(sites), start_url=d["start_url"], intent=d["intent"],
        require_login=bool(d.get("require_login", False)), eval=ev, difficulty=difficulty, category=category,
        reference=list(reference), source=source, raw=dict(d),
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


def resolve_url(url: str, base_urls: dict[str, str]) -> str:
    """Replace site placeholders with base URLs: ``__SHOP__`` with ``base_urls["shop"]``,
    ``__SHOPPING_ADMIN__`` with ``base_urls["shopping_admin"]`` and so on.

    Raises:
        ConfigError: the URL holds a placeholder no base URL is given for.
    """
    if "__" not in url:
        return url

    def sub(m: re.Match) -> str:
        key = m.group(1).lower()
        if key in base_urls and base_urls[key]:
            return base_urls[key].rstrip("/")
        from ponder.environments.webarena import ENV_VARS

        hint = (f"set {ENV_VARS[key]} to the site's base URL" if key in ENV_VARS
                else f"serve the site {key!r} (known here: {', '.join(sorted(base_urls)) or 'none'})")
        raise ConfigError(f"no base URL for the placeholder {m.group(0)} in {url!r}", hint=hint)

    return PLACEHOLDER.sub(sub, url)
