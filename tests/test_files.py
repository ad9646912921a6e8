"""Durable writes: atomic replacement, and append-only JSONL files that survive a killed writer."""

from __future__ import annotations

import json
import logging
import stat

from ponder.evals.runner import read_rows, run_items
from ponder.files import JsonlWriter, read_jsonl, write_atomic
from ponder.graphs.optimizer.cache import EvalCache


def test_write_atomic_replaces_and_sets_mode(tmp_path):
    target = tmp_path / "sub" / "keys.json"
    write_atomic(target, "old")
    write_atomic(target, b"new", mode=0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["keys.json"]  # no temporary left behind


def test_writer_sets_a_torn_last_line_aside_and_says_so_once(tmp_path, caplog):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "sco')  # a writer killed mid-line
    with caplog.at_level(logging.WARNING, logger="ponder.files"):
        writer = JsonlWriter(path)
        writer.write({"id": "c"})
        JsonlWriter(path).write({"id": "d"})  # a second run: the file is clean now
    assert [r["id"] for r in read_jsonl(path)] == ["a", "c", "d"]
    assert (tmp_path / "rows.jsonl.torn").read_text() == '{"id": "b", "sco\n'  # nothing is lost
    warnings = [r for r in caplog.records if "cut off" in r.getMessage()]
    assert len(warnings) == 1 and "rows.jsonl" in warnings[0].getMessage()


def test_reader_names_and_skips_a_broken_middle_line(tmp_path, caplog):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "sc\n{"id": "c"}\n[1, 2]\n\n{"id": "d"}\n')
    with caplog.at_level(logging.WARNING, logger="ponder.files"):
        rows = read_rows(path)
    assert [r["id"] for r in rows] == ["a", "c", "d"]
    message = " ".join(r.getMessage() for r in caplog.records)
    assert f"{path}:2" in message and f"{path}:4" in message


def test_a_run_resumes_after_a_torn_line(tmp_path):
    """The case from issue 16: a kill cut the last row; the rerun completes the run and every
    later read (and report) still works."""
    out = tmp_path / "run.jsonl"
    out.write_text(json.dumps({"id": "0", "success": True}) + "\n" + '{"id": "1", "succ')
    items = [str(i) for i in range(4)]
    rows = run_items(items, lambda it, _w: {"success": it != "2"}, out=out, key=str, show_progress=False)
    assert sorted(r["id"] for r in rows) == items
    rows_again = run_items(items, lambda it, _w: {"success": False}, out=out, key=str, show_progress=False)
    assert sorted(r["id"] for r in rows_again) == items  # nothing rerun, nothing duplicated


def test_optimizer_cache_keeps_entries_around_a_torn_line(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = EvalCache(path)
    cache.put("graph-a", "q1", {"correct": True})
    with open(path, "a") as fh:
        fh.write('{"graph": "x", "ite')  # killed mid-append
    again = EvalCache(path)
    again.put("graph-a", "q2", {"correct": False})
    third = EvalCache(path)
    assert third.get("graph-a", "q1") == {"correct": True}
    assert third.get("graph-a", "q2") == {"correct": False}
    assert len(third) == 2
