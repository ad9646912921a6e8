"""Builders of ponder's built-in tasks: one module per site, each reading its answers from the
seeded database. :func:`generate` runs them all; :mod:`ponder.environments.make_tasks` writes (or
checks) ``task_data/*.json`` from it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ponder.environments.sites import build_database
from ponder.environments.task_builders.admin import admin_tasks
from ponder.environments.task_builders.forum import forum_tasks
from ponder.environments.task_builders.shop import shop_tasks
from ponder.environments.task_builders.wiki import wiki_tasks

__all__ = ["BUILDERS", "generate"]

#: site -> its task builder, in the order the task files are written
BUILDERS: dict[str, Callable[[sqlite3.Connection], list[dict]]] = {
    "shop": shop_tasks, "forum": forum_tasks, "wiki": wiki_tasks, "admin": admin_tasks,
}


def generate(seed: int = 0) -> dict[str, list[dict]]:
    """Every site's task list, derived from the database of ``seed``."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    build_database(conn, seed)
    return {site: build(conn) for site, build in BUILDERS.items()}
