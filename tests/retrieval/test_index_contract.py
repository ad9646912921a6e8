"""One contract, every index kind: add, search, save, load, delete, and refusal to load with
the wrong embedder or from a damaged folder."""

import json

import numpy as np
import pytest

from ponder.errors import IndexLoadError
from ponder.retrieval import (
    DenseIndex,
    HashingEmbedder,
    HybridIndex,
    Index,
    SparseIndex,
    chunk_documents,
    ingest_path,
    open_index,
)

KINDS = ["dense", "sparse", "hybrid", "dense-hnsw", "dense-ivf"]


def make(kind, embedder):
    return {
        "dense": lambda: DenseIndex(embedder),
        "dense-hnsw": lambda: DenseIndex(embedder, kind="hnsw"),
        "dense-ivf": lambda: DenseIndex(embedder, kind="ivf"),
        "sparse": SparseIndex,
        "hybrid": lambda: HybridIndex(embedder),
    }[kind]()


@pytest.fixture(params=KINDS)
def built(request, embedder, corpus_dir):
    report = ingest_path(corpus_dir)
    index = make(request.param, embedder)
    added = index.add(chunk_documents(report.documents), documents=report.documents)
    assert added == len(report.documents)
    return request.param, index, report.documents


def titles(hits):
    return [h.chunk.title for h in hits]


def test_search_finds_the_relevant_chunk(built):
    kind, index, docs = built
    hits = index.search("Who created the Python programming language?", k=3)
    assert titles(hits)[0] == "Python"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    assert titles(index.search("longest river in Africa", k=1)) == ["Nile"]
    assert len(index.search("tower", k=50)) <= len(index)


def test_save_load_round_trip(built, tmp_path, embedder):
    kind, index, docs = built
    folder = index.save(tmp_path / "idx")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == index.kind and manifest["count"] == len(index)
    if kind != "sparse":
        assert manifest["embedder"]["name"] == "all-MiniLM-L6-v2" and manifest["embedder"]["dim"] == 384
    loaded = open_index(folder, embedder)
    assert type(loaded) is type(index) and len(loaded) == len(index)
    q = "Where was Gustave Eiffel born?"
    assert titles(loaded.search(q, 3)) == titles(index.search(q, 3))
    assert loaded.doc_ids() == index.doc_ids()
    assert loaded.source(docs[0].doc_id) == docs[0].source
    assert type(index).load(folder, embedder).kind == index.kind


def test_delete_and_incremental_add(built, tmp_path, embedder):
    kind, index, docs = built
    python = next(d for d in docs if d.title == "Python")
    removed = index.delete([python.doc_id])
    assert removed == 1 and python.doc_id not in index.doc_ids()
    assert "Python" not in titles(index.search("Python programming language Guido", k=10))
    assert index.delete(["no-such-doc"]) == 0
    index.save(tmp_path / "idx")
    again = open_index(tmp_path / "idx", embedder)
    assert "Python" not in titles(again.search("Python programming language Guido", k=10))
    again.add(chunk_documents([python]), documents=[python])
    assert titles(again.search("Who created the Python programming language?", k=1)) == ["Python"]
    # re-adding the same chunks replaces them instead of duplicating
    n = len(again)
    again.add(chunk_documents([python]))
    assert len(again) == n


def test_mismatched_embedder_is_refused(built, tmp_path):
    kind, index, docs = built
    index.save(tmp_path / "idx")
    if kind == "sparse":
        # lexical: no embedder recorded, so any embedder may query it
        assert len(open_index(tmp_path / "idx", HashingEmbedder(384))) == len(index)
        return
    with pytest.raises(IndexLoadError, match=r"manifest.json.*built with embedder 'all-MiniLM-L6-v2'"):
        open_index(tmp_path / "idx", HashingEmbedder(384))
    with pytest.raises(IndexLoadError, match="dim 384"):
        open_index(tmp_path / "idx", HashingEmbedder(128, name="all-MiniLM-L6-v2"))


def test_damaged_folder_names_the_file(built, tmp_path, embedder):
    kind, index, docs = built
    folder = index.save(tmp_path / "idx")
    target = folder / ("vectors.npy" if kind != "sparse" else "bm25/params.index.json")
    data = bytearray(target.read_bytes())
    data[-5] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(IndexLoadError, match=str(target.name).replace(".", r"\.") + ".*checksum"):
        open_index(folder, embedder)
    target.unlink()
    with pytest.raises(IndexLoadError, match=target.name.replace(".", r"\.") + ".*missing"):
        open_index(folder, embedder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(IndexLoadError, match=r"manifest\.json.*damaged"):
        open_index(folder, embedder)
    (folder / "manifest.json").unlink()
    with pytest.raises(IndexLoadError, match=r"manifest\.json.*missing"):
        open_index(folder, embedder)


def test_save_is_atomic(built, tmp_path, embedder, monkeypatch):
    kind, index, docs = built
    folder = index.save(tmp_path / "idx")
    before = len(index)
    index.delete([docs[0].doc_id])

    def boom(self, folder):
        raise OSError("disk full")

    monkeypatch.setattr(type(index), "_write", boom)
    with pytest.raises(OSError):
        index.save(folder)
    assert len(open_index(folder, embedder)) == before  # the old index is intact
    assert [p.name for p in tmp_path.iterdir()] == ["idx"] or all(not p.name.startswith(".idx.tmp") for p in tmp_path.iterdir())


def test_empty_index_searches_to_nothing(embedder, tmp_path):
    for kind in ("dense", "sparse", "hybrid"):
        index = make(kind, embedder)
        assert index.search("anything") == []
        index.save(tmp_path / kind)
        assert len(open_index(tmp_path / kind, embedder)) == 0


def test_wrong_kind_class_load_is_refused(embedder, corpus_dir, tmp_path):
    index = SparseIndex()
    index.add(chunk_documents(ingest_path(corpus_dir).documents))
    index.save(tmp_path / "s")
    with pytest.raises(IndexLoadError, match="holds a sparse index"):
        DenseIndex.load(tmp_path / "s", embedder)
    assert isinstance(Index.load(tmp_path / "s"), SparseIndex)


def test_ivf_trains_once_large_enough():
    from ponder.retrieval.dense import IVF_MIN_TRAIN
    from ponder.retrieval.documents import Chunk

    emb = HashingEmbedder(64)
    index = DenseIndex(emb, kind="ivf")
    chunks = [Chunk(f"c{i}", f"d{i}", f"T{i}", f"passage {i} about topic {i % 37} and item {i * 7 % 101}", 0, 10)
              for i in range(IVF_MIN_TRAIN + 50)]
    index.add(chunks[:100])
    assert not hasattr(index._faiss_index, "nprobe")  # exact until trained
    index.add(chunks[100:])
    assert hasattr(index._faiss_index, "nprobe")
    hits = index.search(DenseIndex.passage_text(chunks[500]), k=3)
    assert hits and hits[0].chunk.chunk_id == "c500"
    assert np.isclose(hits[0].score, 1.0, atol=1e-4)


def test_a_save_killed_between_renames_is_recovered(built, tmp_path, embedder):
    kind, index, docs = built
    folder = index.save(tmp_path / "idx")
    # the state a kill between save()'s two renames leaves: the old copy moved aside, no folder
    folder.rename(tmp_path / ".idx.old-12345")
    loaded = open_index(tmp_path / "idx", embedder)
    assert len(loaded) == len(index) and (tmp_path / "idx" / "manifest.json").exists()
