import pytest

from ponder.errors import ConfigError
from ponder.retrieval import chunk_documents, ingest_path, read_document, read_documents


def test_ingest_reads_every_format_with_titles(corpus_dir):
    report = ingest_path(corpus_dir)
    by_title = {d.title: d for d in report.documents}
    assert set(by_title) == {"eiffel", "Gustave Eiffel", "Python", "Nile", "Amazon"}
    assert "var x" not in by_title["Python"].text and "p{}" not in by_title["Python"].text
    assert by_title["Python"].text == "Python is a programming language created by Guido van Rossum."
    assert by_title["Nile"].source == "sub/rivers.jsonl#nile"
    assert report.skipped == []


def test_ids_are_stable_across_runs_and_roots(corpus_dir, tmp_path):
    first = ingest_path(corpus_dir)
    second = ingest_path(corpus_dir)
    assert [d.doc_id for d in first.documents] == [d.doc_id for d in second.documents]
    assert [c.chunk_id for c in chunk_documents(first.documents)] == [c.chunk_id for c in chunk_documents(second.documents)]
    assert len({d.doc_id for d in first.documents}) == len(first.documents)


def test_bad_files_are_skipped_with_reasons(corpus_dir):
    (corpus_dir / "empty.txt").write_text("")
    (corpus_dir / "blank.md").write_text("   \n\n")
    (corpus_dir / "blob.txt").write_bytes(b"\x89PNG\x00\x00\x01binary")
    (corpus_dir / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (corpus_dir / "big.txt").write_text("word " * 5000)
    (corpus_dir / "image.png").write_bytes(b"\x89PNG")
    report = ingest_path(corpus_dir, max_bytes=10_000)
    reasons = {p.rsplit("/", 1)[-1]: r for p, r in report.skipped}
    assert reasons["empty.txt"] == "empty"
    assert reasons["blank.md"] == "empty"
    assert reasons["blob.txt"].startswith("binary")
    assert reasons["latin.txt"].startswith("binary or not UTF-8")
    assert reasons["big.txt"].startswith("oversized")
    assert reasons["image.png"].startswith("unsupported type")
    assert len(report.documents) == 5


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        ingest_path(tmp_path / "nope")


def test_bad_jsonl_line_is_named():
    with pytest.raises(ConfigError, match=r"data.jsonl:2"):
        read_documents("data.jsonl", '{"text": "ok"}\n{not json}\n')
    with pytest.raises(ConfigError, match="no text field"):
        read_documents("data.jsonl", '{"title": "x"}\n')


def test_read_document_for_uploads():
    doc = read_document("notes.md", b"# Title here\n\nBody text.", source="upload/notes.md")
    assert doc.title == "Title here" and "Body text." in doc.text
    assert doc.doc_id == read_document("other-name.md", "# x\n\ny", source="upload/notes.md").doc_id
    with pytest.raises(ConfigError, match="holds 2 records"):
        read_document("two.jsonl", '{"text": "a"}\n{"text": "b"}\n')
    with pytest.raises(ValueError, match="binary"):
        read_document("x.txt", b"\x00\x01")


def test_chunks_overlap_and_spans_point_into_the_text():
    text = " ".join(f"Sentence number {i} says something about topic {i % 7}." for i in range(200))
    doc = read_document("long.txt", text)
    chunks = chunk_documents([doc], size=400, overlap=80)
    assert len(chunks) > 10
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert len(c.text) <= 400
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end  # overlapping
        assert b.start > a.start
    assert chunks[-1].end == len(doc.text)
    with pytest.raises(ConfigError):
        chunk_documents([doc], size=400, overlap=300)
