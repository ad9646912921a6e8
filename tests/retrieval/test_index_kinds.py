"""The explicit table of index kinds: ``Index.load`` finds every kind's class from the manifest,
in a fresh interpreter that never imported the kind's module (no registration by import)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ponder.errors import IndexLoadError
from ponder.retrieval import INDEX_KINDS, HashingEmbedder, Index, TextEmbedder, chunk_documents, read_document
from ponder.retrieval.index import index_class

ROOT = Path(__file__).resolve().parents[2]
TEXTS = {"nile": "The Nile is a river in Africa.", "eiffel": "The Eiffel Tower stands in Paris."}


def test_the_table_names_every_kind_and_each_class_says_its_kind():
    assert set(INDEX_KINDS) == {"dense", "sparse", "hybrid"}
    for kind in INDEX_KINDS:
        cls = index_class(kind)
        assert issubclass(cls, Index) and cls.kind == kind
    with pytest.raises(IndexLoadError, match="unknown index kind 'graph'"):
        index_class("graph")


def test_the_shipped_embedders_are_text_embedders():
    assert isinstance(HashingEmbedder(32), TextEmbedder)
    assert not isinstance(object(), TextEmbedder)


@pytest.mark.parametrize("kind", sorted(INDEX_KINDS))
def test_index_load_in_a_fresh_interpreter_without_importing_the_kind(kind, tmp_path):
    embedder = HashingEmbedder(64)
    index = index_class(kind)(embedder)
    docs = [read_document(name, text, source=name) for name, text in TEXTS.items()]
    index.add(chunk_documents(docs), documents=docs)
    folder = index.save(tmp_path / kind)
    module = INDEX_KINDS[kind].split(":")[0]
    script = textwrap.dedent(f"""
        import sys
        from ponder.retrieval import HashingEmbedder, Index
        assert {module!r} not in sys.modules, "the kind's module was imported before the load"
        index = Index.load({str(folder)!r}, HashingEmbedder(64))
        assert {module!r} in sys.modules
        hit = index.search("river in Africa", 1)[0]
        print(type(index).__name__, index.kind, len(index), index.source(hit.chunk.doc_id))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [type(index).__name__, kind, "2", "nile"]
