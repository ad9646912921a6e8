"""Documents in, chunks out: reading text, Markdown, HTML and JSONL files (from a folder, a file,
or an uploaded body), skipping what cannot be indexed with a reason, and chunking with overlap.

Ids are stable across runs: a document's id is a hash of its source key (the path relative to
the ingested root, plus the record key for JSONL lines), and a chunk's id is the document id
plus the chunk's character span, so re-ingesting the same folder yields the same ids.
"""

from __future__ import annotations

import hashlib
import html
import html.parser
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ponder.errors import ConfigError

#: File types ingested; anything else in a folder is skipped with a reason.
SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
#: Files larger than this are skipped as oversized (override with ``max_bytes``).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: JSONL fields read as a record's text and title, first present wins.
TEXT_FIELDS = ("text", "contents", "content", "paragraph_text", "body")
TITLE_FIELDS = ("title", "name")
ID_FIELDS = ("id", "doc_id", "_id")


@dataclass(frozen=True)
class Document:
    """One source document.

    Attributes:
        doc_id: stable id (hash of ``source``).
        title: a display title (a file stem, an HTML ``<title>``, a Markdown heading, a JSONL field).
        text: the plain text that is chunked and indexed.
        source: where it came from (a relative path, ``path#record``, or an upload name).
        meta: anything else (for JSONL records, the other fields).
    """

    doc_id: str
    title: str
    text: str
    source: str
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, the unit that is embedded and retrieved.

    ``start``/``end`` are the character span of ``text`` in the document's text."""

    chunk_id: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("chunk_id", "doc_id", "title", "text", "start", "end")}

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**{k: data[k] for k in ("chunk_id", "doc_id", "title", "text", "start", "end")})


@dataclass
class IngestReport:
    """What :func:`ingest_path` read, and what it skipped as ``(path, reason)``."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def doc_id_for(source: str) -> str:
    """The stable id for a source key."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


# ---- format readers ----------------------------------------------------------------------------


class _HTMLText(html.parser.HTMLParser):
    """Visible text of an HTML page (scripts and styles dropped), block tags as line breaks."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre", "table"}
    HIDDEN = {"script", "style", "noscript", "template", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title_parts.append(data)
        elif not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, str]:
    """``(title, text)`` of an HTML page."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    return " ".join("".join(parser.title_parts).split()), html.unescape(text)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode(data: bytes | str, where: str) -> str:
    """Text of a file body; raises ``ValueError("binary ...")`` for binary content."""
    if isinstance(data, str):
        return data
    if b"\x00" in data[:8192]:
        raise ValueError("binary (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"binary or not UTF-8 (byte {e.start})") from e


def _title_of_markdown(text: str, fallback: str) -> str:
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            return m.group(1)
        if line.strip():
            break
    return fallback


def _stem(name: str) -> str:
    return Path(name).stem or name


def _records(text: str, name: str, source: str) -> Iterable[Document]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{name}:{lineno}: not a JSON object ({e.msg})") from e
        if isinstance(record, str):
            record = {"text": record}
        if not isinstance(record, dict):
            raise ConfigError(f"{name}:{lineno}: expected a JSON object with a 'text' field")
        body = next((record[k] for k in TEXT_FIELDS if isinstance(record.get(k), str)), None)
        if body is None:
            raise ConfigError(f"{name}:{lineno}: no text field", hint=f"give one of {', '.join(TEXT_FIELDS)}")
        title = next((str(record[k]) for k in TITLE_FIELDS if record.get(k)), "")
        key = next((str(record[k]) for k in ID_FIELDS if record.get(k) not in (None, "")), f"line{lineno}")
        meta = {k: v for k, v in record.items() if k not in TEXT_FIELDS}
        rec_source = f"{source}#{key}"
        body = _clean(body)
        if body:
            yield Document(doc_id_for(rec_source), title or f"{_stem(name)} {key}", body, rec_source, meta)


def read_documents(name: str, data: bytes | str, *, source: str | None = None) -> list[Document]:
    """Every document in one file body (a JSONL file holds one per line; others hold one).

    Args:
        name: the file name; its suffix picks the format (``.txt``/unknown: plain text).
        data: the body.
        source: the stable source key (default ``name``); the document id is its hash.

    Raises:
        ValueError: the body is binary or empty (the message is the reason).
        ConfigError: a JSONL line is malformed (the message names the line).
    """
    source = source or name
    text = _decode(data, name)
    if not text.strip():
        raise ValueError("empty")
    suffix = Path(name).suffix.lower()
    if suffix == ".jsonl":
        return list(_records(text, name, source))
    if suffix in (".html", ".htm"):
        title, body = html_to_text(text)
        title = title or _stem(name)
    elif suffix in (".md", ".markdown"):
        body = text
        title = _title_of_markdown(text, _stem(name))
    else:
        body, title = text, _stem(name)
    body = _clean(body)
    if not body:
        raise ValueError("empty (no text after markup)")
    return [Document(doc_id_for(source), title, body, source, {"name": name})]


def read_document(name: str, data: bytes | str, *, source: str | None = None) -> Document:
    """One uploaded file or request body as a :class:`Document` (see :func:`read_documents`;
    a JSONL body must hold exactly one record here)."""
    docs = read_documents(name, data, source=source)
    if len(docs) != 1:
        raise ConfigError(f"{name}: holds {len(docs)} records, expected one", hint="use read_documents for JSONL files")
    return docs[0]


def ingest_path(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> IngestReport:
    """Read a file or a folder (recursively, in sorted order) of ``.txt .md .html .jsonl`` files.

    Empty, binary, oversized and unsupported files are skipped with a reason; a path that does
    not exist is a :class:`~ponder.errors.ConfigError`.
    """
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"nothing to ingest at {root}: no such file or folder")
    report = IngestReport()
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = sorted(p for p in root.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(root).parts)), root
    for file in files:
        rel = file.relative_to(base).as_posix()
        if file.suffix.lower() not in SUFFIXES:
            report.skipped.append((str(file), f"unsupported type {file.suffix or '(no suffix)'}"))
            continue
        try:
            size = file.stat().st_size
            if size > max_bytes:
                report.skipped.append((str(file), f"oversized ({size} bytes > {max_bytes})"))
                continue
            report.documents.extend(read_documents(file.name, file.read_bytes(), source=rel))
        except ValueError as e:  # empty, binary
            report.skipped.append((str(file), str(e)))
        except OSError as e:
            report.skipped.append((str(file), f"unreadable ({e.strerror or e})"))
    return report


# ---- chunking -----------------------------------------------------------------------------------

#: Default chunk size and overlap, in characters (about 200 and 30 words).
DEFAULT_CHUNK_SIZE = 1200
DEFAULT_OVERLAP = 200


def _spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of at most ``size`` that end on whitespace where possible and overlap by
    about ``overlap`` characters."""
    n = len(text)
    if n <= size:
        return [(0, n)]
    spans = []
    start = 0
    while start < n:
        end = min(n, start + size)
        if end < n:
            # prefer a paragraph, then a sentence, then a word boundary in the last third
            window = text[start + size * 2 // 3 : end]
            for pattern in ("\n\n", ". ", "\n", " "):
                cut = window.rfind(pattern)
                if cut >= 0:
                    end = start + size * 2 // 3 + cut + len(pattern)
                    break
        spans.append((start, end))
        if end >= n:
            break
        nxt = max(start + 1, end - overlap)
        # start the next chunk on a word boundary
        space = text.find(" ", nxt, end)
        start = space + 1 if 0 <= space < end - 1 else nxt
    return spans


def chunk_documents(
    docs: Iterable[Document], *, size: int = DEFAULT_CHUNK_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[Chunk]:
    """Split documents into overlapping chunks of at most ``size`` characters."""
    if size < 50:
        raise ConfigError(f"chunk size {size} is too small (minimum 50 characters)")
    if not 0 <= overlap < size // 2:
        raise ConfigError(f"chunk overlap {overlap} must be between 0 and half the size ({size // 2})")
    chunks = []
    for doc in docs:
        for start, end in _spans(doc.text, size, overlap):
            piece = doc.text[start:end]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if not piece:
                continue
            s = start + lead
            chunks.append(Chunk(f"{doc.doc_id}:{s}", doc.doc_id, doc.title, piece, s, s + len(piece)))
    return chunks
