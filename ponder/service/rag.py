"""The service's bridge to :mod:`ponder.retrieval`: request items to documents, chunking,
adding to an index in small locked pieces, answering, and citations.

Kept in one place so the HTTP layer never touches retrieval internals.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ponder.errors import PonderError

#: what a JSON document's ``format`` maps to (read_document picks the parser by extension)
FORMATS = {"text": ".txt", "markdown": ".md", "html": ".html"}
SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
TEXT_FIELDS = ("text", "contents", "content", "paragraph_text", "body")
ADD_PIECE = 16  # chunks embedded per lock hold, so queries interleave with ingestion


def _stable_id(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:16]


def _override(doc, *, doc_id: str | None = None, title: str | None = None, meta: dict | None = None,
              source: str | None = None):
    changes: dict[str, Any] = {}
    if doc_id:
        changes["doc_id"] = str(doc_id)
    if title:
        changes["title"] = str(title)
    if source:
        changes["source"] = str(source)
    if meta:
        changes["meta"] = {**(getattr(doc, "meta", None) or {}), **meta}
    return dataclasses.replace(doc, **changes) if changes else doc


def _read(name: str, data: bytes | str, source: str):
    from ponder.retrieval import read_document

    return read_document(name, data, source=source)


def _jsonl_documents(name: str, data: bytes, source: str) -> tuple[list, list[dict]]:
    docs, skipped = [], []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [{"name": name, "reason": "not UTF-8 text"}]
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            skipped.append({"name": where, "reason": f"invalid JSON: {e.msg}"})
            continue
        if not isinstance(rec, dict):
            skipped.append({"name": where, "reason": "a line must be a JSON object"})
            continue
        body = next((rec[f] for f in TEXT_FIELDS if isinstance(rec.get(f), str)), None)
        if not body or not body.strip():
            skipped.append({"name": where, "reason": f"no text field (one of {', '.join(TEXT_FIELDS)})"})
            continue
        title = str(rec.get("title") or f"{name}#{lineno}")
        doc_id = str(rec.get("id") or rec.get("doc_id") or _stable_id(name, str(lineno), body))
        try:
            doc = _read(f"{title}.txt", body, f"{source}#{lineno}")
        except (PonderError, ValueError) as e:
            skipped.append({"name": where, "reason": getattr(e, "message", None) or str(e)})
            continue
        meta = {k: v for k, v in rec.items() if k not in TEXT_FIELDS and k not in ("id", "doc_id", "title")}
        docs.append(_override(doc, doc_id=doc_id, title=title, meta=meta or None))
    return docs, skipped


def item_documents(item: dict, files_dir: Path, *, fetch: Callable[[str], tuple[str, bytes]] | None,
                   max_bytes: int) -> tuple[list, list[dict]]:
    """Turn one staged request item into documents; problems become ``skipped`` reasons."""
    kind = item.get("kind")
    name = item.get("name") or item.get("title") or "document"
    if kind == "url":
        if fetch is None:
            return [], [{"name": item["url"], "reason": "URL fetching is disabled (allow_url_fetch = false)"}]
        try:
            name, data = fetch(item["url"])
        except PonderError as e:
            return [], [{"name": item["url"], "reason": e.message}]
        source = item["url"]
    elif kind == "file":
        data = (files_dir / item["path"]).read_bytes()
        source = item.get("source") or f"upload:{name}"
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            return [], [{"name": name, "reason": f"unsupported type {suffix or '(no suffix)'}; "
                                                 f"send one of {', '.join(SUFFIXES)}"}]
    else:
        fmt = item.get("format") or "text"
        data = item.get("text") or ""
        # the parser is chosen by extension; the id defaults to the content's hash
        name = f"{name}{FORMATS.get(fmt, '.txt')}"
        item = {**item, "id": item.get("id") or _stable_id(fmt, data)}
        source = item.get("source") or f"api:{item['id']}"
    size = len(data.encode() if isinstance(data, str) else data)
    if size > max_bytes:
        return [], [{"name": name, "reason": f"{size} bytes is over the {max_bytes}-byte document limit"}]
    if name.lower().endswith(".jsonl"):
        return _jsonl_documents(name, data if isinstance(data, bytes) else data.encode(), source)
    try:
        doc = _read(name, data, source)
    except (PonderError, ValueError) as e:  # empty, binary, unreadable
        return [], [{"name": item.get("id") or name, "reason": getattr(e, "message", None) or str(e)}]
    if doc is None or not (doc.text or "").strip():
        return [], [{"name": name, "reason": "empty document"}]
    return [_override(doc, doc_id=item.get("id"), title=item.get("title"), meta=item.get("meta"))], []


def chunk(docs: list, **opts) -> list:
    from ponder.retrieval import chunk_documents

    return chunk_documents(docs, **{k: v for k, v in opts.items() if v is not None})


def add_chunks(col, work, replaced: list[str], chunks: list) -> None:
    """Apply a batch to a writer's private index copy, embedding in small locked pieces."""
    lock = col.embedders.lock if col.kind != "sparse" else None
    if replaced:
        if lock:
            with lock:
                work.delete(replaced)
        else:
            work.delete(replaced)
    if lock is None:
        work.add(chunks)
        return
    for i in range(0, len(chunks), ADD_PIECE):
        with lock:
            work.add(chunks[i:i + ADD_PIECE])


# ---- answering ---------------------------------------------------------------------------------
class CollectionRetriever:
    """What ``answer_question`` searches: a collection's live index, with progress events."""

    def __init__(self, col, emit: Callable[[dict], None] | None = None):
        self.col = col
        self.emit = emit
        self.searches = 0

    def search(self, query: str, k: int = 5):
        hits = self.col.search(query, k)
        self.searches += 1
        if self.emit:
            self.emit({"type": "retrieval", "query": query, "k": k,
                       "documents": [h.chunk.doc_id for h in hits]})
        return hits

    def search_many(self, queries: list[str], k: int = 5):
        return [self.search(q, k) for q in queries]

    def __len__(self) -> int:
        return len(self.col.index)

    def doc_ids(self):
        return self.col.index.doc_ids()

    def __getattr__(self, name):  # anything else an index offers (embedder, kind, ...)
        return getattr(self.col.index, name)


def _as_chunk(item):
    return getattr(item, "chunk", item)


def citations(col, evidence) -> list[dict]:
    """Evidence (hits or chunks) as citations: document, chunk and the text span."""
    out, seen = [], set()
    for item in evidence or []:
        c = _as_chunk(item)
        if getattr(c, "chunk_id", None) in seen:
            continue
        seen.add(c.chunk_id)
        doc = col.documents.get(c.doc_id, {})
        out.append({
            "document": c.doc_id,
            "title": c.title or doc.get("title", ""),
            "source": doc.get("source", ""),
            "chunk": c.chunk_id,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "score": round(float(getattr(item, "score", 0.0) or 0.0), 6),
        })
    return out


def answer(question: str, col, *, model, method: str, usage, budget, top_k: int | None,
           emit: Callable[[dict], None] | None = None, **cfg):
    """Run :func:`ponder.graphs.qa_methods.answer_question` over a collection."""
    from ponder.graphs.qa_methods import answer_question

    retriever = CollectionRetriever(col, emit)
    return answer_question(question, retriever, method=method, model=model, usage=usage, budget=budget,
                           top_k=top_k, **cfg)

