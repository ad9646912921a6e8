"""Collections under the data directory: a document store plus an index, committed atomically.

Layout of one collection::

    collections/<name>/
        collection.json     the manifest: settings, generation, committed documents (replaced atomically)
        index-<gen>/        the index as of generation <gen> (written whole, then named by the manifest)
        docs/<key>.json     one file per document body (written and fsynced before the commit)

A commit writes the new index folder and the document files, fsyncs them, then replaces
``collection.json`` with ``os.replace`` and fsyncs the folder. Whatever a ``kill -9`` interrupts,
the manifest names a complete index and only documents whose files exist; anything it does not
name is garbage from an unfinished commit and is removed when the collection is opened.

Readers never wait for writers: an ingest works on its own copy of the index and the live one
is swapped after each commit (copy-on-write). Dense indexes share one embedder, so calls that
embed (search, add) hold one lock, taken in small pieces so queries interleave with ingestion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError, IndexLoadError, PonderError
from ponder.files import fsync_dir, fsync_tree, write_atomic

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MANIFEST = "collection.json"


class NotFound(PonderError):
    """A collection, document or job that does not exist (HTTP 404)."""


class Conflict(PonderError):
    """A collection that already exists (HTTP 409)."""


class CollectionUnavailable(PonderError):
    """A collection whose files are damaged, so it was not loaded (HTTP 503). Deleting it sets
    its files aside under ``<data_dir>/damaged/``."""


class DocumentUnavailable(PonderError):
    """A committed document whose body file is missing or damaged (HTTP 503)."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name or "") or name in (".", ".."):
        raise ConfigError(
            f"invalid collection name {name!r}",
            hint="1-64 characters: letters, digits, '_', '-', '.'; starting with a letter or digit",
        )
    return name


def doc_key(doc_id: str) -> str:
    return hashlib.sha1(doc_id.encode()).hexdigest()


class Embedders:
    """One shared embedder (loaded on first use) and the lock its callers take."""

    def __init__(self, name_or_path: str | None):
        self.name_or_path = name_or_path
        self.lock = threading.RLock()
        self._embedder = None

    def get(self):
        with self.lock:
            if self._embedder is None:
                name = self.name_or_path or ""
                if name == "hashing" or re.fullmatch(r"hashing-\d+", name):
                    # model-free lexical vectors: for tests and tiny corpora
                    from ponder.retrieval.embedder import HashingEmbedder

                    self._embedder = HashingEmbedder(int(name.split("-")[1]) if "-" in name else 256)
                else:
                    from ponder.retrieval import Embedder

                    self._embedder = Embedder(self.name_or_path)
            return self._embedder


def new_index(kind: str, embedders: Embedders):
    from ponder.retrieval import DenseIndex, HybridIndex, SparseIndex

    if kind == "sparse":
        return SparseIndex()
    if kind == "dense":
        return DenseIndex(embedders.get())
    if kind == "hybrid":
        return HybridIndex(embedders.get())
    raise ConfigError(f"unknown index kind {kind!r}", hint="one of hybrid, dense, sparse")


def load_index(path: Path, kind: str, embedders: Embedders):
    from ponder.retrieval import open_index

    return open_index(path, None if kind == "sparse" else embedders.get())


@dataclass
class DocInfo:
    doc_id: str
    title: str
    source: str
    chunks: int
    chars: int
    committed: float
    job: str | None = None
    file: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Collection:
    """One collection: its manifest, live index and document store."""

    def __init__(self, root: Path, embedders: Embedders):
        self.root = root
        self.embedders = embedders
        self.write_lock = threading.Lock()  # one writer (ingest or delete) at a time
        self.manifest: dict[str, Any] = {}
        self.index = None
        self.deleted = False

    # ---- properties ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def kind(self) -> str:
        return self.manifest["index"]

    @property
    def generation(self) -> int:
        return int(self.manifest["generation"])

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    def _uses_embedder(self) -> bool:
        return self.kind != "sparse"

    def info(self) -> dict:
        docs = self.documents
        return {
            "name": self.name,
            "index": self.kind,
            "description": self.manifest.get("description", ""),
            "created": self.manifest["created"],
            "updated": self.manifest.get("updated", self.manifest["created"]),
            "generation": self.generation,
            "documents": len(docs),
            "chunks": sum(d["chunks"] for d in docs.values()),
        }

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, name: str, kind: str, description: str, embedders: Embedders) -> Collection:
        tmp = root.parent / f".creating-{name}-{os.getpid()}-{time.monotonic_ns()}"
        tmp.mkdir(parents=True)
        (tmp / "docs").mkdir()
        now = time.time()
        manifest = {"version": 1, "name": name, "index": kind, "description": description,
                    "embedder": embedders.name_or_path, "created": now, "updated": now,
                    "generation": 0, "documents": {}}
        write_atomic(tmp / MANIFEST, json.dumps(manifest))
        try:
            os.rename(tmp, root)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise Conflict(f"collection {name!r} already exists") from e
        fsync_dir(root.parent)
        return cls.open(root, embedders)

    @classmethod
    def open(cls, root: Path, embedders: Embedders) -> Collection:
        self = cls(root, embedders)
        path = root / MANIFEST
        try:
            self.manifest = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise IndexLoadError(f"collection manifest {path} is unreadable: {e}") from e
        self.index = self._load_generation(self.generation)
        self._collect_garbage()
        return self

    def _index_dir(self, gen: int) -> Path:
        return self.root / f"index-{gen}"

    def _load_generation(self, gen: int):
        if gen == 0:
            return new_index(self.kind, self.embedders)
        with self.embedders.lock if self._uses_embedder() else _nolock():
            return load_index(self._index_dir(gen), self.kind, self.embedders)

    def _collect_garbage(self) -> None:
        """Remove what no commit names: older index folders, unreferenced document files."""
        keep = f"index-{self.generation}"
        for p in self.root.iterdir():
            if p.name.startswith("index-") and p.name != keep or p.name.startswith(".index-"):
                shutil.rmtree(p, ignore_errors=True)
        known = {d["file"] for d in self.documents.values()}
        docs_dir = self.root / "docs"
        docs_dir.mkdir(exist_ok=True)
        for p in docs_dir.iterdir():
            if p.name not in known:
                p.unlink(missing_ok=True)

    # ---- reading ---------------------------------------------------------------------------
    def search(self, query: str, k: int):
        index = self.index  # the live generation; a commit swaps the attribute, never mutates it
        if len(index) == 0:
            return []
        if self._uses_embedder():
            with self.embedders.lock:
                return index.search(query, k)
        return index.search(query, k)

    def document(self, doc_id: str) -> dict:
        meta = self.documents.get(doc_id)
        if meta is None:
            raise NotFound(f"no document {doc_id!r} in collection {self.name!r}")
        try:
            body = json.loads((self.root / "docs" / meta["file"]).read_text())
        except (OSError, ValueError) as e:
            log.error("document %r of collection %r: body file %s unreadable: %s", doc_id, self.name, meta["file"], e)
            raise DocumentUnavailable(
                f"the stored text of document {doc_id!r} in collection {self.name!r} is missing or damaged",
                hint=f"DELETE /v1/collections/{self.name}/documents/{{doc_id}} removes it; ingest it again to restore it",
            ) from e
        out = {k: v for k, v in meta.items() if k != "file"}
        return {**out, "doc_id": doc_id, "text": body.get("text", ""), "meta": body.get("meta", {})}

    # ---- writing ---------------------------------------------------------------------------
    def working_copy(self):
        """A private copy of the live index for a writer (load the committed generation again)."""
        return self._load_generation(self.generation)

    def commit(self, work, docs: list, chunks_by_doc: dict[str, int], *, job: str | None = None,
               remove: Iterable[str] = ()) -> None:
        """Add ``docs`` (already chunked and added to ``work``) and drop ``remove``; persist
        the index and manifest atomically, then make ``work``'s state live.

        The caller holds :attr:`write_lock` and owns ``work``.
        """
        if self.deleted:
            raise NotFound(f"collection {self.name!r} was deleted")
        files: dict[str, str] = {}
        for doc in docs:
            body = {"doc_id": doc.doc_id, "title": doc.title, "text": doc.text,
                    "source": doc.source, "meta": _jsonable(getattr(doc, "meta", {}) or {})}
            text = json.dumps(body)
            # named by content too, so replacing a document never overwrites the committed body
            files[doc.doc_id] = f"{doc_key(doc.doc_id)}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.json"
            path = self.root / "docs" / files[doc.doc_id]
            with open(path, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        fsync_dir(self.root / "docs")
        gen = self.generation + 1
        target = self._index_dir(gen)
        shutil.rmtree(target, ignore_errors=True)
        if len(work) > 0:
            with self.embedders.lock if self._uses_embedder() else _nolock():
                work.save(target)
            fsync_tree(target)
        now = time.time()
        documents = dict(self.documents)
        for doc_id in remove:
            documents.pop(doc_id, None)
        for doc in docs:
            documents[doc.doc_id] = DocInfo(doc.doc_id, doc.title, doc.source, chunks_by_doc.get(doc.doc_id, 0),
                                            len(doc.text), now, job, files[doc.doc_id]).to_dict()
        manifest = {**self.manifest, "generation": gen if len(work) > 0 else 0, "updated": now,
                    "documents": documents}
        write_atomic(self.root / MANIFEST, json.dumps(manifest))
        # committed: make it live (a fresh load, so the writer may keep mutating ``work``)
        self.manifest = manifest
        self.index = self._load_generation(self.generation)
        self._collect_garbage()

    def delete_documents(self, doc_ids: list[str]) -> list[str]:
        """Remove documents (one commit); returns the ids that were present."""
        with self.write_lock:
            present = [d for d in doc_ids if d in self.documents]
            if not present:
                return []
            work = self.working_copy()
            if len(work):
                if self._uses_embedder():
                    with self.embedders.lock:
                        work.delete(present)
                else:
                    work.delete(present)
            self.commit(work, [], {}, remove=present)
            return present


class _nolock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {k: str(v) for k, v in dict(value).items()} if isinstance(value, dict) else str(value)


class Store:
    """Every collection under ``<data_dir>/collections``; loads them all when constructed."""

    def __init__(self, data_dir: Path, embedders: Embedders, *, default_kind: str = "hybrid"):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "collections"
        self.root.mkdir(parents=True, exist_ok=True)
        self.embedders = embedders
        self.default_kind = default_kind
        self._lock = threading.Lock()
        self.collections: dict[str, Collection] = {}
        self.load_errors: dict[str, str] = {}
        for p in sorted(self.root.iterdir()):
            if p.name.startswith("."):
                shutil.rmtree(p, ignore_errors=True)  # an unfinished create or delete
                continue
            try:
                self.collections[p.name] = Collection.open(p, embedders)
            except PonderError as e:
                log.error("collection %s not loaded: %s", p.name, e)
                # callers see the reason without the server's paths (and never another library's hint)
                self.load_errors[p.name] = str(e.message).replace(str(p), f"<collection {p.name}>")

    def get(self, name: str) -> Collection:
        col = self.collections.get(name)
        if col is None:
            if name in self.load_errors:
                raise CollectionUnavailable(
                    f"collection {name!r} is damaged and was not loaded: {self.load_errors[name]}",
                    hint=f"DELETE /v1/collections/{name} sets its files aside (under damaged/ in the service's "
                         "data directory) so the name can be used again; or restore its files and restart the server")
            raise NotFound(f"no collection named {name!r}", hint="create it with POST /v1/collections")
        return col

    def names(self) -> list[str]:
        return sorted(self.collections)

    def create(self, name: str, kind: str | None = None, description: str = "") -> Collection:
        check_name(name)
        kind = kind or self.default_kind
        if kind not in ("hybrid", "dense", "sparse"):
            raise ConfigError(f"unknown index kind {kind!r}", hint="one of hybrid, dense, sparse")
        with self._lock:
            if name in self.load_errors:
                raise Conflict(f"collection {name!r} exists but is damaged",
                               hint=f"DELETE /v1/collections/{name} first (it sets the damaged files aside)")
            if name in self.collections or (self.root / name).exists():
                raise Conflict(f"collection {name!r} already exists")
            col = Collection.create(self.root / name, name, kind, description, self.embedders)
            self.collections[name] = col
            return col

    def delete(self, name: str) -> None:
        """Delete a collection; a damaged one is moved to ``<data_dir>/damaged/<name>-<time>``
        instead, for its owner to inspect."""
        with self._lock:
            if name in self.load_errors and name not in self.collections:
                aside = self.data_dir / "damaged" / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{time.monotonic_ns()}"
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.rename(self.root / name, aside)
                fsync_dir(self.root)
                fsync_dir(aside.parent)
                del self.load_errors[name]
                log.warning("damaged collection %s set aside in %s", name, aside)
                return
            col = self.get(name)
            with col.write_lock:
                col.deleted = True
                trash = self.root / f".deleted-{name}-{time.monotonic_ns()}"
                os.rename(col.root, trash)
                fsync_dir(self.root)
                del self.collections[name]
        shutil.rmtree(trash, ignore_errors=True)
