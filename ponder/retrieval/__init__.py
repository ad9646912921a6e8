"""Retrieval memory: documents and chunks, embedders, and dense/sparse/hybrid indexes with a
safe on-disk layout. Question answering over an index (the QA methods) sits a layer above, in
:mod:`ponder.graphs.qa_methods` (``ponder.answer_question``).

    report = ingest_path("notes/")
    index = DenseIndex(Embedder())
    index.add(chunk_documents(report.documents))
    index.save("idx/")
    index = open_index("idx/")   # any kind; the manifest says which
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ponder.retrieval.documents import (
    Chunk,
    Document,
    IngestReport,
    chunk_documents,
    ingest_path,
    read_document,
    read_documents,
)
from ponder.retrieval.embedder import DEFAULT_EMBEDDER, Embedder, HashingEmbedder
from ponder.retrieval.index import INDEX_KINDS, Hit, Index, IndexKind, open_index
from ponder.retrieval.protocols import TextEmbedder

__all__ = [
    "DEFAULT_EMBEDDER", "INDEX_KINDS", "Chunk", "DenseIndex", "Document", "Embedder", "HashingEmbedder", "Hit",
    "HybridIndex", "Index", "IndexKind", "IngestReport", "SparseIndex", "TextEmbedder", "chunk_documents",
    "ingest_path", "open_index", "read_document", "read_documents",
]

_LAZY = {
    "DenseIndex": "ponder.retrieval.dense",
    "SparseIndex": "ponder.retrieval.sparse",
    "HybridIndex": "ponder.retrieval.hybrid",
}

if TYPE_CHECKING:
    from ponder.retrieval.dense import DenseIndex
    from ponder.retrieval.hybrid import HybridIndex
    from ponder.retrieval.sparse import SparseIndex


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ponder.retrieval' has no attribute {name!r}")
