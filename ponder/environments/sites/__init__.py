"""The local sites: one module per site (``shop``, ``forum``, ``wiki``, ``admin``), each with its SQL
``SCHEMA``, a deterministic ``seed(conn, rng)`` and ``routes(ctx)``; ``common`` holds what they
share. :func:`build_database` creates and seeds every site's tables in one SQLite database."""

from __future__ import annotations

import importlib
import random
import sqlite3
from types import ModuleType

#: site name -> module; the order is the order tables are seeded in
SITE_NAMES = ("shop", "forum", "wiki", "admin")
#: bump when the schema or the generators change, so cached templates are rebuilt
DATA_VERSION = 2

BASE_SCHEMA = """
CREATE TABLE users (
  id INTEGER PRIMARY KEY, site TEXT NOT NULL, username TEXT NOT NULL, password TEXT NOT NULL,
  display_name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '', street TEXT NOT NULL DEFAULT '',
  city TEXT NOT NULL DEFAULT '', zip TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '',
  bio TEXT NOT NULL DEFAULT '', joined TEXT NOT NULL, UNIQUE (site, username)
);
CREATE TABLE sessions (token TEXT PRIMARY KEY, site TEXT NOT NULL, user_id INTEGER NOT NULL);
"""


def site_module(name: str) -> ModuleType:
    """The module implementing site ``name``."""
    if name not in SITE_NAMES:
        from ponder.errors import ConfigError

        raise ConfigError(f"unknown site {name!r}", hint=f"one of: {', '.join(SITE_NAMES)}")
    return importlib.import_module(f"ponder.environments.sites.{name}")


def build_database(conn: sqlite3.Connection, seed: int = 0) -> None:
    """Create every site's tables in ``conn`` and fill them from ``seed`` (each site draws from
    its own random stream, so changing one generator leaves the others' data alone)."""
    conn.executescript(BASE_SCHEMA)
    for name in SITE_NAMES:
        module = site_module(name)
        conn.executescript(module.SCHEMA)
        module.seed(conn, random.Random(f"{seed}:{name}"))
    conn.commit()
