"""The one retrieval-index interface and its on-disk layout.

An index folder holds ``manifest.json`` (format version, kind, embedder name and dimension, the
number of chunks, and a SHA-256 per file), ``chunks.jsonl`` (the chunks, in index order) and the
kind's own files (``vectors.npy`` + ``dense.faiss`` for dense, ``bm25/`` for sparse, both for
hybrid). :meth:`Index.save` writes a complete copy to a temporary sibling folder and renames it
into place, so a crash mid-save leaves the old index (or none), never a half-written one.
:meth:`Index.load` verifies every checksum and the embedder before trusting anything, and names
the damaged or missing file in its :class:`~ponder.errors.IndexLoadError`.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from ponder.errors import IndexLoadError
from ponder.files import fsync_dir, fsync_tree
from ponder.retrieval.documents import Chunk, Document
from ponder.retrieval.protocols import TextEmbedder

FORMAT = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
SOURCES = "sources.json"


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score (higher is better) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def title(self) -> str:
        return self.chunk.title

    def to_dict(self) -> dict:
        return {**self.chunk.to_dict(), "score": round(float(self.score), 6), "rank": self.rank}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def embedder_info(embedder: TextEmbedder | None) -> dict | None:
    if embedder is None:
        return None
    return {"name": embedder.name, "dim": int(embedder.dim), "backend": getattr(embedder, "backend", "")}


class Index(abc.ABC):
    """A searchable set of chunks. Implementations: :class:`~ponder.retrieval.dense.DenseIndex`,
    :class:`~ponder.retrieval.sparse.SparseIndex`, :class:`~ponder.retrieval.hybrid.HybridIndex`.

    Chunks are kept in insertion order; adding a chunk whose id is already present replaces it
    (re-ingesting a changed document updates it). Not thread-safe for writes; concurrent
    searches are fine.
    """

    kind: ClassVar[IndexKind]
    embedder: TextEmbedder | None = None

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self._position: dict[str, int] = {}
        self.sources: dict[str, str] = {}  # doc_id -> the document's source (a path, an upload name)

    # ---- the interface -------------------------------------------------------------------------
    def add(self, chunks: Iterable[Chunk], *, documents: Iterable[Document] = ()) -> int:
        """Index ``chunks`` (replacing chunks with the same id); returns how many were added.

        ``documents`` (the :class:`~ponder.retrieval.documents.Document` objects the chunks came
        from) records each document's ``source`` so hits can cite it (:meth:`source`)."""
        for doc in documents:
            self.sources[doc.doc_id] = doc.source
        chunks = list(chunks)
        replaced = {c.chunk_id for c in chunks if c.chunk_id in self._position}
        if replaced:
            self._remove(lambda c: c.chunk_id in replaced)
        # a document's chunks may repeat an id within one call: keep the last
        unique = list({c.chunk_id: c for c in chunks}.values())
        if unique:
            self._add(unique)
            for c in unique:
                self._position[c.chunk_id] = len(self.chunks)
                self.chunks.append(c)
        return len(unique)

    def delete(self, doc_ids: Iterable[str]) -> int:
        """Remove every chunk of the given documents; returns how many chunks were removed."""
        wanted = set(doc_ids)
        for doc_id in wanted:
            self.sources.pop(doc_id, None)
        return self._remove(lambda c: c.doc_id in wanted)

    @abc.abstractmethod
    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first."""

    def search_many(self, queries: list[str], k: int = 5) -> list[list[Hit]]:
        """:meth:`search` for several queries (batched where the kind can)."""
        return [self.search(q, k) for q in queries]

    def __len__(self) -> int:
        return len(self.chunks)

    def doc_ids(self) -> list[str]:
        """The ids of the indexed documents, in first-seen order."""
        return list(dict.fromkeys(c.doc_id for c in self.chunks))

    def source(self, doc_id: str) -> str:
        """Where a document came from ('' when it was added without its Document)."""
        return self.sources.get(doc_id, "")

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunks[self._position[chunk_id]]

    # ---- for implementations -----------------------------------------------------------------
    @abc.abstractmethod
    def _add(self, chunks: list[Chunk]) -> None:
        """Index new chunks, which will be appended at positions ``len(self)...``."""

    @abc.abstractmethod
    def _keep(self, keep: list[int]) -> None:
        """Keep only the chunks at these old positions (in this order)."""

    @abc.abstractmethod
    def _write(self, folder: Path) -> None:
        """Write the kind's own files into ``folder``."""

    @abc.abstractmethod
    def _read(self, folder: Path, manifest: dict) -> None:
        """Read the kind's own files (already checksum-verified)."""

    def _remove(self, drop) -> int:
        keep = [i for i, c in enumerate(self.chunks) if not drop(c)]
        removed = len(self.chunks) - len(keep)
        if removed:
            self._keep(keep)
            self.chunks = [self.chunks[i] for i in keep]
            self._position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        return removed

    def _manifest_extra(self) -> dict:
        return {}

    # ---- persistence ------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the index to ``folder`` atomically (a full copy, then a rename)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
        try:
            with open(tmp / CHUNKS, "w", encoding="utf-8") as fh:
                for c in self.chunks:
                    fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
            live = set(self.doc_ids())
            (tmp / SOURCES).write_text(json.dumps({k: v for k, v in self.sources.items() if k in live}, ensure_ascii=False))
            self._write(tmp)
            files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
            manifest = {
                "format": FORMAT, "kind": self.kind, "embedder": embedder_info(self.embedder),
                "count": len(self.chunks), "documents": len(self.doc_ids()), "files": files,
                **self._manifest_extra(),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
            fsync_tree(tmp)
            old = None
            if folder.exists():
                old = folder.parent / f".{folder.name}.old-{os.getpid()}"
                os.replace(folder, old)
            os.replace(tmp, folder)
            fsync_dir(folder.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, embedder: TextEmbedder | None = None) -> Index:
        """Load an index saved by :meth:`save` (any kind when called on :class:`Index`).

        Args:
            embedder: the embedder to query with; it must have the recorded name and dimension.
                ``None``: build the recorded one (the default model) for dense and hybrid kinds.

        Raises:
            IndexLoadError: a missing or damaged file (named), or a mismatched embedder.
        """
        folder = Path(folder)
        recover(folder)
        manifest = read_manifest(folder)
        kind = manifest["kind"]
        if kind not in INDEX_KINDS:
            raise IndexLoadError(f"{folder / MANIFEST}: unknown index kind {kind!r}", hint=f"known: {', '.join(INDEX_KINDS)}")
        impl = index_class(kind)
        if cls is not Index and impl is not cls:
            raise IndexLoadError(f"{folder} holds a {kind} index, not a {cls.kind} one", hint="use open_index() to load any kind")
        verify_files(folder, manifest)
        recorded = manifest.get("embedder")
        if recorded:
            if embedder is None:
                from ponder.retrieval.embedder import Embedder

                try:
                    embedder = Embedder(recorded["name"])
                except Exception as e:
                    raise IndexLoadError(
                        f"{folder / MANIFEST}: the index was built with embedder {recorded['name']!r}, which cannot be loaded here ({e})",
                        hint="pass the embedder it was built with",
                    ) from e
            if embedder.name != recorded["name"] or int(embedder.dim) != int(recorded["dim"]):
                raise IndexLoadError(
                    f"{folder / MANIFEST}: the index was built with embedder {recorded['name']!r} (dim {recorded['dim']}), "
                    f"not {embedder.name!r} (dim {embedder.dim})",
                    hint=f"load it with Embedder({recorded['name']!r}) or rebuild the index with `ponder qa index`",
                )
        index = impl._empty(embedder, manifest)
        index.chunks = _read_chunks(folder / CHUNKS)
        if len(index.chunks) != manifest.get("count"):
            raise IndexLoadError(f"{folder / CHUNKS}: holds {len(index.chunks)} chunks, the manifest says {manifest.get('count')}")
        index._position = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        if (folder / SOURCES).is_file():
            try:
                index.sources = json.loads((folder / SOURCES).read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise IndexLoadError(f"{folder / SOURCES}: damaged ({e.msg})") from e
        try:
            index._read(folder, manifest)
        except IndexLoadError:
            raise
        except Exception as e:  # checksums passed, so this is a version or format problem
            raise IndexLoadError(f"{folder}: cannot read the {kind} index files ({type(e).__name__}: {e})") from e
        return index

    @classmethod
    @abc.abstractmethod
    def _empty(cls, embedder: TextEmbedder | None, manifest: dict) -> Index:
        """An empty instance configured from a manifest."""


#: The name of an index kind, as recorded in a manifest.
IndexKind = Literal["dense", "sparse", "hybrid"]

#: Every index kind and its implementation (``module:class``). Named, not imported: the kinds'
#: modules import this one, and :meth:`Index.load` imports the one a manifest names on first use,
#: so loading works whichever modules the caller has imported.
INDEX_KINDS: dict[IndexKind, str] = {
    "dense": "ponder.retrieval.dense:DenseIndex",
    "sparse": "ponder.retrieval.sparse:SparseIndex",
    "hybrid": "ponder.retrieval.hybrid:HybridIndex",
}


def index_class(kind: str) -> type[Index]:
    """The class implementing an index kind (one of :data:`INDEX_KINDS`)."""
    import importlib

    try:
        module, name = INDEX_KINDS[kind].split(":")  # type: ignore[index]
    except KeyError:
        raise IndexLoadError(f"unknown index kind {kind!r}", hint=f"known: {', '.join(INDEX_KINDS)}") from None
    return getattr(importlib.import_module(module), name)


def recover(folder: Path) -> bool:
    """Finish a save that was killed between its two renames (the old folder moved aside, the
    new one not yet in place): put back the newest complete copy. Returns whether it did."""
    if folder.exists() or not folder.parent.is_dir():
        return False
    candidates = sorted(folder.parent.glob(f".{folder.name}.tmp-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    candidates += sorted(folder.parent.glob(f".{folder.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in candidates:
        try:
            verify_files(candidate, read_manifest(candidate))
        except IndexLoadError:
            continue
        os.replace(candidate, folder)
        return True
    return False


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise IndexLoadError(f"no index at {folder}: not a folder", hint="build one with `ponder qa index PATH --out DIR`")
    if not path.is_file():
        raise IndexLoadError(f"{path}: missing; {folder} is not an index folder (or its save was interrupted)",
                             hint="rebuild it with `ponder qa index PATH --out DIR`")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IndexLoadError(f"{path}: damaged (not JSON: {e})", hint="rebuild the index") from e
    if not isinstance(manifest, dict) or not {"format", "kind", "files", "count"} <= set(manifest):
        raise IndexLoadError(f"{path}: damaged (missing format, kind, files or count)", hint="rebuild the index")
    if manifest["format"] != FORMAT:
        raise IndexLoadError(f"{path}: index format {manifest['format']} is not supported (expected {FORMAT})", hint="rebuild the index")
    return manifest


def verify_files(folder: Path, manifest: dict) -> None:
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise IndexLoadError(f"{path}: missing from the index folder", hint="rebuild the index")
        if sha256_file(path) != digest:
            raise IndexLoadError(f"{path}: damaged (checksum mismatch)", hint="rebuild the index with `ponder qa index`")


def _read_chunks(path: Path) -> list[Chunk]:
    chunks = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            try:
                chunks.append(Chunk.from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise IndexLoadError(f"{path}:{i}: damaged chunk record ({e})") from e
    return chunks


def open_index(folder: str | os.PathLike, embedder: TextEmbedder | None = None) -> Index:
    """Load an index folder of any kind (the manifest says which); the same as :meth:`Index.load`."""
    return Index.load(folder, embedder)
