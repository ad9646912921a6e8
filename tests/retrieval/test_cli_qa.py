"""``ponder qa index`` / ``ponder qa ask`` through the real console entry point."""

import json
import os
import subprocess
import sys

import pytest

from ponder.retrieval import open_index


def ponder(*args, timeout=600):
    env = {**os.environ, "COLUMNS": "400"}  # no wrapping of long paths
    return subprocess.run([sys.executable, "-m", "ponder.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_index_builds_updates_and_reports_skips(corpus_dir, tmp_path):
    (corpus_dir / "empty.txt").write_text("")
    (corpus_dir / "blob.txt").write_bytes(b"\x00\x01\x02")
    out = tmp_path / "idx"
    res = ponder("qa", "index", str(corpus_dir), "--out", str(out), "--kind", "hybrid")
    assert res.returncode == 0, res.stderr
    assert "empty.txt: empty" in res.stdout and "blob.txt: binary" in res.stdout
    assert "5 documents read" in " ".join(res.stdout.split())
    index = open_index(out)
    assert index.kind == "hybrid" and len(index.doc_ids()) == 5
    # re-indexing a changed file replaces its chunks instead of duplicating them
    (corpus_dir / "eiffel.txt").write_text("The Eiffel Tower is 330 metres tall.")
    res = ponder("qa", "index", str(corpus_dir / "eiffel.txt"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    index = open_index(out)
    assert len(index.doc_ids()) == 5 and len(index) == 5  # same source key, so the same document
    hits = index.search("How tall is the Eiffel Tower?", 1)
    assert "330 metres" in hits[0].chunk.text


def test_ask_on_a_missing_or_damaged_index_is_one_clear_line(tmp_path):
    res = ponder("qa", "ask", "Who?", "--index", str(tmp_path / "nowhere"), "--method", "single")
    assert res.returncode == 1
    assert "no index at" in res.stderr and "Traceback" not in res.stderr
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{}")
    res = ponder("qa", "ask", "Who?", "--index", str(tmp_path / "bad"))
    assert res.returncode == 1 and "manifest.json" in res.stderr and "damaged" in res.stderr


@pytest.mark.slow
def test_ask_prints_answer_evidence_and_usage(corpus_dir, tmp_path):
    out = tmp_path / "idx"
    assert ponder("qa", "index", str(corpus_dir), "--out", str(out)).returncode == 0
    res = ponder("qa", "ask", "Who created the Python programming language?", "--index", str(out), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["method"] == "single" and data["answer"]
    assert data["evidence"][0]["title"] == "Python" and data["evidence"][0]["source"] == "python.html"
    assert data["usage"]["calls"] == 1 and data["usage"]["retrievals"] == 1
    res = ponder("qa", "ask", "Who created the Python programming language?", "--index", str(out), "--top-k", "2")
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    assert "answer:" in text and "evidence:" in text and "python.html" in text and "1 calls" in text and "1 retrievals" in text
