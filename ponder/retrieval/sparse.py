"""Sparse (lexical) retrieval: BM25 on ``bm25s``. bm25s builds its matrix in one pass, so an
add or delete marks the index stale and the next search rebuilds it (about a second per 10,000
chunks); a saved index loads without rebuilding."""

from __future__ import annotations

import re
from pathlib import Path

from ponder.errors import missing_extra
from ponder.retrieval.documents import Chunk
from ponder.retrieval.index import Hit, Index
from ponder.retrieval.protocols import TextEmbedder

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with what which who whom when where why how did does do has have had were been".split()
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without English stopwords (for indexing and queries alike)."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOPWORDS]


def _bm25s():
    try:
        import bm25s
    except ImportError as e:
        raise missing_extra("bm25s", "retrieval") from e
    return bm25s


class SparseIndex(Index):
    """BM25 over chunk titles and texts (``k1``/``b`` as in bm25s's defaults)."""

    kind = "sparse"

    def __init__(self, embedder: TextEmbedder | None = None, *, k1: float = 1.5, b: float = 0.75):
        super().__init__()
        self.embedder = None  # lexical: no embedder, so any embedder may load it
        self.k1, self.b = k1, b
        self._bm25 = None
        self._stale = True

    def __repr__(self) -> str:
        return f"SparseIndex({len(self)} chunks)"

    def _add(self, chunks: list[Chunk]) -> None:
        self._stale = True

    def _keep(self, keep: list[int]) -> None:
        self._stale = True

    def _build(self) -> None:
        bm25s = _bm25s()
        corpus = [tokenize(f"{c.title} {c.text}") or ["\u2205"] for c in self.chunks]
        model = bm25s.BM25(k1=self.k1, b=self.b)
        if corpus:
            model.index(corpus, show_progress=False)
        self._bm25, self._stale = model, False

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        if not len(self) or k <= 0:
            return [[] for _ in queries]
        if self._stale or self._bm25 is None:
            self._build()
        vocab = self._bm25.vocab_dict
        out = []
        for query in queries:
            tokens = [t for t in tokenize(query) if t in vocab]
            if not tokens:
                out.append([])
                continue
            ids, scores = self._bm25.retrieve([tokens], k=min(k, len(self)), show_progress=False)
            hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0]
            out.append([Hit(self.chunks[i], s, r) for r, (i, s) in enumerate(hits, 1)])
        return out

    def _manifest_extra(self) -> dict:
        return {"sparse": {"k1": self.k1, "b": self.b}}

    def _write(self, folder: Path) -> None:
        if self._stale or self._bm25 is None:
            self._build()
        if len(self):
            self._bm25.save(str(folder / "bm25"))

    @classmethod
    def _empty(cls, embedder: TextEmbedder | None, manifest: dict) -> SparseIndex:
        cfg = manifest.get("sparse", {})
        return cls(k1=cfg.get("k1", 1.5), b=cfg.get("b", 0.75))

    def _read(self, folder: Path, manifest: dict) -> None:
        if len(self):
            self._bm25 = _bm25s().BM25.load(str(folder / "bm25"), mmap=False)
            self._stale = False
