"""Retrieval memory: documents and chunks, embedders, dense/sparse/hybrid indexes with a safe
on-disk layout, and question answering over an index (no retrieval, single-shot, iterative,
Adaptive-Note, Adaptive-Note with the information-gain stop).

    report = ingest_path("notes/")
    index = DenseIndex(Embedder())
    index.add(chunk_documents(report.documents))
    index.save("idx/")
    result = answer_question("Who founded X?", open_index("idx/"), method="adaptive-note")
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
from ponder.retrieval.index import Hit, Index, open_index

__all__ = [
    "DEFAULT_EMBEDDER", "METHODS", "Chunk", "DenseIndex", "Document", "Embedder", "HashingEmbedder", "Hit",
    "HybridIndex", "Index", "IngestReport", "QAResult", "SparseIndex", "answer_question", "chunk_documents",
    "ingest_path", "open_index", "read_document", "read_documents",
]

_LAZY = {
    "DenseIndex": "ponder.retrieval.dense",
    "SparseIndex": "ponder.retrieval.sparse",
    "HybridIndex": "ponder.retrieval.hybrid",
    "answer_question": "ponder.retrieval.methods",
    "QAResult": "ponder.retrieval.methods",
    "METHODS": "ponder.retrieval.methods",
}

if TYPE_CHECKING:
    from ponder.retrieval.dense import DenseIndex
    from ponder.retrieval.hybrid import HybridIndex
    from ponder.retrieval.methods import METHODS, QAResult, answer_question
    from ponder.retrieval.sparse import SparseIndex


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ponder.retrieval' has no attribute {name!r}")
