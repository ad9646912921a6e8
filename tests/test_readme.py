"""Every ```python block of README.md runs, each in a fresh interpreter in an empty folder. A block
right after a ``<!-- no-run: why -->`` line is compiled and its imports are run instead (it needs
what a test cannot have, such as minutes of CPU), so it cannot silently rot either."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_RUN = re.compile(r"^<!--\s*no-run:\s*(.+?)\s*-->$")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, no_run_reason)`` for each fenced python block."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            mark = NO_RUN.match(before)
            blocks.append((start + 1, "\n".join(lines[start:end]) + "\n", mark.group(1) if mark else None))
            i = end
        i += 1
    return blocks


BLOCKS = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_an_example_per_axis():
    code = "\n".join(c for _, c, _ in BLOCKS)
    for name in ("run_web_task", "build_index", "answer_question", "run_graph", "optimize_graph"):
        assert name in code, name
    assert sum(reason is None for _, _, reason in BLOCKS) >= 4


def test_the_parser_finds_fences_and_no_run_marks():
    text = "x\n```python\na = 1\n```\n<!-- no-run: slow -->\n```python\nb = 2\n```\n```bash\nls\n```\n"
    assert python_blocks(text) == [(3, "a = 1\n", None), (7, "b = 2\n", "slow")]


def _imports_only(code: str) -> str:
    tree = ast.parse(code)
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("line,code,no_run", BLOCKS, ids=[f"README.md:{line}" for line, _, _ in BLOCKS])
def test_readme_block_runs(line, code, no_run, tmp_path):
    compile(code, f"README.md:{line}", "exec")
    script = _imports_only(code) if no_run else code
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"README.md:{line} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
