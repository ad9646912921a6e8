"""Generate ponder's built-in tasks (``task_data/{shop,forum,wiki,admin}.json``) from the seeded data
(the builders live in :mod:`ponder.environments.task_builders`, one module per site).

    python -m ponder.environments.make_tasks            # rewrite the checked-in files (seed 0)
    python -m ponder.environments.make_tasks --check    # fail if the files are out of date

Every answer is read from the seed-0 database, so a change to a site's generator shows up as a
diff here; ``tests/environments/test_reference_solutions.py`` then proves each task's reference
solution scores 1.0 in a real browser and a do-nothing episode scores 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ponder.environments.task_builders import generate
from ponder.files import write_atomic

__all__ = ["OUT", "generate", "main"]

OUT = Path(__file__).with_name("task_data")


def main(argv: list[str] | None = None) -> int:
    """Write every site's task file (or, with ``--check``, return 1 if one differs from what the
    builders give now)."""
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for site, tasks in generate(0).items():
        path = OUT / f"{site}.json"
        text = json.dumps(tasks, indent=1, ensure_ascii=False) + "\n"
        if "--check" in args:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        write_atomic(path, text)
        print(f"{path}: {len(tasks)} tasks")
    if stale:
        print("out of date (run python -m ponder.environments.make_tasks):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
