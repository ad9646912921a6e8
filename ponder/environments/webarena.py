"""WebArena's own task configs (``test.raw.json``, 812 tasks) for a user with a real WebArena
deployment.

Site placeholders map to base URLs read from ``PONDER_WEBARENA_*`` environment variables (see
:mod:`ponder.environments.urls`, re-exported here). Loading never needs the sites; only running
does.

WebArena's ``program_html`` entries call helper functions (``func:shopping_get_latest_order_url()``,
``func:reddit_get_post_url('__last_url__')``, ``func:gitlab_get_project_memeber_role(__page__,
'name')``, ``func:shopping_get_sku_latest_review_rating('SKU')`` and ``..._author``); ponder
implements each in :mod:`ponder.environments.evaluators` (the shopping ones through Magento's REST
API with an admin token from ``PONDER_WEBARENA_SHOPPING_ADMIN_TOKEN`` or the admin login in
``PONDER_WEBARENA_ADMIN_USER`` / ``PONDER_WEBARENA_ADMIN_PASSWORD``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ponder.environments.tasks import Task, task_from_dict
from ponder.environments.urls import DEFAULT_PORTS, ENV_VARS, PLACEHOLDERS, base_urls_from_env
from ponder.errors import TaskConfigError

__all__ = ["DEFAULT_PATH", "DEFAULT_PORTS", "ENV_VARS", "HELPER_FUNCTIONS", "PLACEHOLDERS", "base_urls_from_env",
           "load_webarena_tasks"]

#: where the data folder keeps WebArena's configs, relative to the repository
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "webarena" / "test.raw.json"
#: the helper functions WebArena's configs call from program_html
HELPER_FUNCTIONS = (
    "shopping_get_latest_order_url", "shopping_get_sku_latest_review_author", "shopping_get_sku_latest_review_rating",
    "reddit_get_post_url", "gitlab_get_project_memeber_role",
)


def load_webarena_tasks(path: str | Path | None = None) -> list[Task]:
    """Every task in WebArena's ``test.raw.json`` (or a ``config_files`` folder of single-task
    files) as :class:`Task` objects with ids ``webarena-N``.

    Raises:
        TaskConfigError: the file is missing or malformed (naming the file, task and field).
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    if path.is_dir():
        files = sorted(path.glob("*.json"), key=lambda p: (len(p.stem), p.stem))
        raw = []
        for file in files:
            try:
                raw.append((json.loads(file.read_text(encoding="utf-8")), str(file)))
            except json.JSONDecodeError as e:
                raise TaskConfigError(f"{file}: not valid JSON ({e.msg} at line {e.lineno})") from e
    elif path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise TaskConfigError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
        raw = [(d, str(path)) for d in (data if isinstance(data, list) else [data])]
    else:
        raise TaskConfigError(f"{path}: no WebArena task file here",
                              hint="pass the path to test.raw.json (from WebArena's config_files)")
    tasks = []
    for d, source in raw:
        if not isinstance(d, dict):
            raise TaskConfigError(f"{source}: a task must be a JSON object")
        d = dict(d)
        ev = dict(d.get("eval") or {})
        # WebArena writes null for unused parts; normalise so the validator sees one shape.
        if ev.get("reference_answers") is None:
            ev.pop("reference_answers", None)
        if ev.get("program_html") is None:
            ev["program_html"] = []
        d["eval"] = ev
        tid = d.get("task_id")
        d["task_id"] = f"webarena-{tid}" if isinstance(tid, int) else tid
        task = task_from_dict(d, source)
        task.raw["webarena_task_id"] = tid
        tasks.append(task)
    return tasks
