"""Dense retrieval on FAISS: exact inner product over normalised vectors by default (cosine
similarity), HNSW or IVF for large corpora."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ponder.errors import ConfigError, IndexLoadError, missing_extra
from ponder.retrieval.documents import Chunk
from ponder.retrieval.index import Hit, Index
from ponder.retrieval.protocols import TextEmbedder

DENSE_KINDS = ("flat", "hnsw", "ivf")
#: IVF trains once this many vectors are present (before that it searches exactly).
IVF_MIN_TRAIN = 1000


_threads_set = False


def _faiss():
    global _threads_set
    try:
        import faiss
    except ImportError as e:
        raise missing_extra("faiss-cpu", "retrieval") from e
    if not _threads_set:
        # One OpenMP thread by default: a single query is latency-bound, and fanning it out over
        # busy cores cost ~48 ms instead of ~1 ms per search over 10k vectors on a shared 2-core
        # machine. PONDER_FAISS_THREADS raises it for bulk HNSW/IVF builds.
        faiss.omp_set_num_threads(int(os.environ.get("PONDER_FAISS_THREADS", "1")))
        _threads_set = True
    return faiss


class DenseIndex(Index):
    """Chunks embedded with ``embedder`` and searched by inner product.

    Args:
        embedder: an :class:`~ponder.retrieval.embedder.Embedder`, or any
            :class:`~ponder.retrieval.protocols.TextEmbedder` (``name``, ``dim``, ``encode``).
        kind: ``"flat"`` (exact, the default), ``"hnsw"`` (graph, approximate; ``hnsw_m``
            neighbours, ``ef_search`` at query time) or ``"ivf"`` (inverted lists; trained on
            the vectors present once there are ``IVF_MIN_TRAIN``, ``nprobe`` lists searched).

    The vectors are kept (and saved) so that delete can rebuild the FAISS structure.
    """

    kind = "dense"

    def __init__(self, embedder: TextEmbedder, *, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 64, nprobe: int = 8,
                 batch_size: int = 32):
        super().__init__()
        if kind not in DENSE_KINDS:
            raise ConfigError(f"unknown dense index kind {kind!r}", hint=f"one of {', '.join(DENSE_KINDS)}")
        if embedder is None:
            raise ConfigError("a dense index needs an embedder")
        self.embedder = embedder
        self.faiss_kind = kind
        self.hnsw_m, self.ef_search, self.nprobe = hnsw_m, ef_search, nprobe
        self.batch_size = batch_size
        self.vectors = np.zeros((0, embedder.dim), dtype=np.float32)
        self._faiss_index = None

    def __repr__(self) -> str:
        return f"DenseIndex({len(self)} chunks, {self.faiss_kind}, {self.embedder!r})"

    @staticmethod
    def passage_text(chunk: Chunk) -> str:
        """What is embedded for a chunk: its title line, then its text."""
        return f"{chunk.title}\n{chunk.text}" if chunk.title else chunk.text

    # ---- FAISS structure --------------------------------------------------------------------
    def _new_faiss(self, n: int):
        faiss = _faiss()
        dim = self.embedder.dim
        if self.faiss_kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = self.ef_search
            return index
        if self.faiss_kind == "ivf" and n >= IVF_MIN_TRAIN:
            nlist = max(1, min(4096, int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 points per list
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(self.vectors)
            index.nprobe = self.nprobe
            return index
        return faiss.IndexFlatIP(dim)

    def _rebuild(self) -> None:
        self._faiss_index = self._new_faiss(len(self.vectors))
        if len(self.vectors):
            self._faiss_index.add(self.vectors)

    def _add(self, chunks: list[Chunk]) -> None:
        new = self.embedder.encode([self.passage_text(c) for c in chunks], batch_size=self.batch_size)
        self.vectors = np.concatenate([self.vectors, new.astype(np.float32)]) if len(self.vectors) else np.ascontiguousarray(new, dtype=np.float32)
        untrained_ivf = self.faiss_kind == "ivf" and len(self.vectors) >= IVF_MIN_TRAIN and not hasattr(self._faiss_index, "nprobe")
        if self._faiss_index is None or untrained_ivf:
            self._rebuild()
        else:
            self._faiss_index.add(np.ascontiguousarray(new, dtype=np.float32))

    def _keep(self, keep: list[int]) -> None:
        self.vectors = np.ascontiguousarray(self.vectors[keep])
        self._rebuild()

    # ---- search ------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        if not queries:
            return []
        if not len(self) or k <= 0:
            return [[] for _ in queries]
        vectors = self.embedder.encode(list(queries))
        return self.search_vectors(vectors, k)

    def search_vectors(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """Search with ready query vectors (rows)."""
        k = min(k, len(self))
        scores, ids = self._faiss_index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        out = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            hits = [Hit(self.chunks[i], float(s), r) for r, (s, i) in enumerate(((s, i) for s, i in zip(row_scores, row_ids, strict=True) if i >= 0), 1)]
            out.append(hits)
        return out

    # ---- persistence ------------------------------------------------------------------------------
    def _manifest_extra(self) -> dict:
        return {"dense": {"kind": self.faiss_kind, "hnsw_m": self.hnsw_m, "ef_search": self.ef_search, "nprobe": self.nprobe}}

    def _write(self, folder: Path) -> None:
        np.save(folder / "vectors.npy", self.vectors, allow_pickle=False)
        if self.faiss_kind != "flat" and self._faiss_index is not None:
            _faiss().write_index(self._faiss_index, str(folder / "dense.faiss"))

    @classmethod
    def _empty(cls, embedder: TextEmbedder | None, manifest: dict) -> DenseIndex:
        cfg = manifest.get("dense", {})
        return cls(embedder, kind=cfg.get("kind", "flat"), hnsw_m=cfg.get("hnsw_m", 32),
                   ef_search=cfg.get("ef_search", 64), nprobe=cfg.get("nprobe", 8))

    def _read(self, folder: Path, manifest: dict) -> None:
        self.vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        if self.vectors.shape != (len(self.chunks), self.embedder.dim):
            raise IndexLoadError(f"{folder / 'vectors.npy'}: shape {self.vectors.shape} does not match "
                                 f"{len(self.chunks)} chunks x dim {self.embedder.dim}")
        if (folder / "dense.faiss").exists():
            self._faiss_index = _faiss().read_index(str(folder / "dense.faiss"))
            if self._faiss_index.ntotal != len(self.chunks):
                raise IndexLoadError(f"{folder / 'dense.faiss'}: holds {self._faiss_index.ntotal} vectors, expected {len(self.chunks)}")
            if hasattr(self._faiss_index, "hnsw"):
                self._faiss_index.hnsw.efSearch = self.ef_search
            if hasattr(self._faiss_index, "nprobe"):
                self._faiss_index.nprobe = self.nprobe
        else:
            self._rebuild()
