"""Hybrid retrieval: dense and BM25 results fused by reciprocal rank (RRF, Cormack et al. 2009):
``score(d) = sum over lists of 1 / (rrf_k + rank(d))``."""

from __future__ import annotations

from pathlib import Path

from ponder.retrieval.dense import DenseIndex
from ponder.retrieval.documents import Chunk
from ponder.retrieval.index import Hit, Index
from ponder.retrieval.protocols import TextEmbedder
from ponder.retrieval.sparse import SparseIndex


def reciprocal_rank_fusion(lists: list[list[Hit]], k: int, rrf_k: int = 60) -> list[Hit]:
    """Fuse ranked lists of hits into one of ``k`` hits by reciprocal rank."""
    scores: dict[str, float] = {}
    chunks: dict[str, Chunk] = {}
    for hits in lists:
        for hit in hits:
            cid = hit.chunk.chunk_id
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (rrf_k + hit.rank)
            chunks[cid] = hit.chunk
    best = sorted(scores, key=lambda c: -scores[c])[:k]
    return [Hit(chunks[c], scores[c], r) for r, c in enumerate(best, 1)]


class HybridIndex(Index):
    """A dense and a sparse index over the same chunks, searched together and fused by RRF.

    Args:
        embedder: for the dense half.
        dense_kind: the FAISS structure (``flat``, ``hnsw``, ``ivf``).
        candidates: how many hits each half contributes before fusion (at least ``k``).
        rrf_k: the RRF constant.
    """

    kind = "hybrid"

    def __init__(self, embedder: TextEmbedder, *, dense_kind: str = "flat", candidates: int = 20, rrf_k: int = 60):
        super().__init__()
        self.dense = DenseIndex(embedder, kind=dense_kind)
        self.sparse = SparseIndex()
        self.embedder = embedder
        self.candidates, self.rrf_k = candidates, rrf_k

    def __repr__(self) -> str:
        return f"HybridIndex({len(self)} chunks, {self.embedder!r})"

    def _add(self, chunks: list[Chunk]) -> None:
        self.dense.add(chunks)
        self.sparse.add(chunks)

    def _keep(self, keep: list[int]) -> None:
        for half in (self.dense, self.sparse):
            half._keep(keep)
            half.chunks = [half.chunks[i] for i in keep]
            half._position = {c.chunk_id: i for i, c in enumerate(half.chunks)}

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        n = max(k, self.candidates)
        dense = self.dense.search_many(queries, n)
        sparse = self.sparse.search_many(queries, n)
        return [reciprocal_rank_fusion([d, s], k, self.rrf_k) for d, s in zip(dense, sparse, strict=True)]

    def _manifest_extra(self) -> dict:
        return {"hybrid": {"candidates": self.candidates, "rrf_k": self.rrf_k},
                **self.dense._manifest_extra(), **self.sparse._manifest_extra()}

    def _write(self, folder: Path) -> None:
        self.dense._write(folder)
        self.sparse._write(folder)

    @classmethod
    def _empty(cls, embedder: TextEmbedder | None, manifest: dict) -> HybridIndex:
        cfg = manifest.get("hybrid", {})
        index = cls(embedder, dense_kind=manifest.get("dense", {}).get("kind", "flat"),
                    candidates=cfg.get("candidates", 20), rrf_k=cfg.get("rrf_k", 60))
        index.dense = DenseIndex._empty(embedder, manifest)
        index.sparse = SparseIndex._empty(None, manifest)
        return index

    def _read(self, folder: Path, manifest: dict) -> None:
        for half in (self.dense, self.sparse):
            half.chunks = list(self.chunks)
            half._position = dict(self._position)
            half._read(folder, manifest)
