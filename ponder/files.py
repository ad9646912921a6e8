"""Durable file writes, in one place: atomic replacement and append-only JSONL.

Every file ponder keeps goes through here, so the rules are the same everywhere:

- :func:`write_atomic` writes a temporary file beside the target, fsyncs it, renames it over the
  target and fsyncs the folder: a crash leaves the old file or the new one, never half of either.
- :class:`JsonlWriter` appends one flushed and fsynced line per row. A killed writer can leave a
  partial last line; the next writer sets it aside (to ``<file>.torn``) before appending, and
  says so once, so a new row never lands after a broken one.
- :func:`read_jsonl` names and skips a line that is not a JSON object (``FILE:N``) and keeps
  every row around it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def fsync_dir(path: str | Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str | Path) -> None:
    """fsync every file and folder under ``path`` (before renaming a finished folder into place)."""
    for root, _dirs, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(root)


def write_atomic(path: str | Path, data: str | bytes, *, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    Args:
        path: the target; its folder is created when missing.
        data: text (written as UTF-8) or bytes.
        mode: permission bits for the new file (e.g. ``0o600`` for secrets), set before it
            becomes visible under its name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    payload = data.encode() if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json_atomic(path: str | Path, data: Any, *, indent: int | None = 1) -> None:
    """:func:`write_atomic` of ``data`` as JSON (objects it cannot encode become strings)."""
    write_atomic(path, json.dumps(data, indent=indent, default=str))


def set_aside_torn_tail(path: str | Path) -> int:
    """If ``path`` does not end with a newline, move its partial last line to ``<path>.torn``
    and cut it from ``path``. Returns the number of bytes set aside (0 when the file was clean)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return 0
        # find the start of the partial line: the byte after the last newline
        block = 1 << 16
        pos = size
        start = 0
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                start = pos + nl + 1
                break
        fh.seek(start)
        tail = fh.read()
        torn = path.with_name(path.name + ".torn")
        with open(torn, "ab") as side:
            side.write(tail + b"\n")
            side.flush()
            os.fsync(side.fileno())
        fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning(
        "%s: its last line was cut off (a killed writer); set aside %d bytes to %s before appending",
        path,
        len(tail),
        torn,
    )
    return len(tail)


class JsonlWriter:
    """Appends JSON rows to a file, one flushed and fsynced line per row (thread-safe).

    Opening a file whose last line was cut by a kill sets that line aside first
    (:func:`set_aside_torn_tail`), so every line after it is whole.
    """

    def __init__(self, path: str | Path, *, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._lock = threading.Lock()
        set_aside_torn_tail(self.path)

    def write(self, row: dict) -> None:
        line = json.dumps(row, default=str) + "\n"
        with self._lock, open(self.path, "a") as fh:
            fh.write(line)
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())


def iter_jsonl(path: str | Path) -> Iterator[dict]:
    """The JSON objects of a JSONL file, in order. A line that is not a JSON object is named
    (``FILE:N``) in one warning per file and skipped; blank lines are ignored."""
    path = Path(path)
    if not path.exists():
        return
    bad: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                bad.append(f"{path}:{i} ({e.msg})")
                continue
            if not isinstance(row, dict):
                bad.append(f"{path}:{i} (a JSON {type(row).__name__}, not an object)")
                continue
            yield row
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        log.warning("skipped %d line(s) that are not JSON rows: %s", len(bad), shown)


def read_jsonl(path: str | Path) -> list[dict]:
    """All rows of :func:`iter_jsonl` as a list."""
    return list(iter_jsonl(path))
